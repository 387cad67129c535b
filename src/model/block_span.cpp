#include "model/block_span.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/numerics.h"
#include "kernels/ops.h"
#include "kernels/thread_pool.h"
#include "model/rope.h"
#include "model/weights.h"
#include "util/error.h"

namespace brigade {

using namespace kernels;

// ---- loading ----------------------------------------------------------------

BlockSpan::BlockSpan(const ModelConfig& config, const Checkpoint& checkpoint, int start, int end,
                     kernels::Quant quant)
    : config_(config), start_(start), end_(end), checkpoint_(checkpoint.shared_from_this()) {
  require(0 <= start && start < end && end <= config.num_hidden_layers,
          "block span [{}, {}) is empty or outside the model's {} blocks", start, end,
          config.num_hidden_layers);
  const int64_t hidden = config.hidden_size, inter = config.intermediate_size;
  const int64_t q_dim = config.q_dim(), kv_dim = config.kv_dim();
  for (int i = start; i < end; ++i) {
    const auto prefix = fmt::format("model.layers.{}.", i);
    auto vector = [&](const std::string& suffix, int64_t size) {
      return checkpoint.load(prefix + suffix, {size});
    };
    auto matrix = [&](const std::string& suffix, int64_t out_dim, int64_t in_dim) {
      return load_matrix(checkpoint, prefix + suffix, out_dim, in_dim, quant);
    };
    BlockWeights w;
    w.input_norm = vector("input_layernorm.weight", hidden);
    w.wq = matrix("self_attn.q_proj.weight", q_dim, hidden);
    w.wk = matrix("self_attn.k_proj.weight", kv_dim, hidden);
    w.wv = matrix("self_attn.v_proj.weight", kv_dim, hidden);
    w.wo = matrix("self_attn.o_proj.weight", hidden, q_dim);
    if (config.attention_bias) {
      w.bq = vector("self_attn.q_proj.bias", q_dim);
      w.bk = vector("self_attn.k_proj.bias", kv_dim);
      w.bv = vector("self_attn.v_proj.bias", kv_dim);
    }
    w.post_norm = vector("post_attention_layernorm.weight", hidden);
    w.w_gate = matrix("mlp.gate_proj.weight", inter, hidden);
    w.w_up = matrix("mlp.up_proj.weight", inter, hidden);
    w.w_down = matrix("mlp.down_proj.weight", hidden, inter);
    blocks_.push_back(std::move(w));
  }
  format_ = blocks_.front().wq.format();
  for (const auto& w : blocks_)
    for (const auto* m : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
      require(m->format() == format_,
              "blocks [{}, {}) of {} mix weight formats ({} and {}): one span computes in one "
              "format",
              start, end, checkpoint.dir().string(), kernels::format_name(format_),
              kernels::format_name(m->format()));
  rope_inv_freq_ = rope_inv_freq(config);
}

size_t BlockSpan::weight_bytes() const {
  size_t bytes = 0;
  for (const auto& w : blocks_) {
    for (const auto* v : {&w.input_norm, &w.bq, &w.bk, &w.bv, &w.post_norm})
      bytes += v->size() * sizeof(float);
    for (const auto* m : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
      bytes += m->bytes();
  }
  return bytes;
}

std::string BlockSpan::numerics_id() const { return kernels::numerics_id(format_); }

KvCache BlockSpan::make_cache(int batch, int max_length) const {
  return KvCache(end_ - start_, batch, config_.num_key_value_heads, config_.head_dim, max_length);
}

// ---- forward ----------------------------------------------------------------

void BlockSpan::forward(std::span<float> hidden, int batch, int tokens, int position,
                        KvCache& cache) const {
  forward_range(start_, end_, hidden, batch, tokens, position, cache);
}

void BlockSpan::forward_range(int first, int last, std::span<float> hidden, int batch, int tokens,
                              int position, KvCache& cache) const {
  forward_batch(first, last, rows_of(hidden, batch, tokens, position, cache));
}

std::vector<SequenceStep> BlockSpan::rows_of(std::span<float> hidden, int batch, int tokens,
                                             int position, KvCache& cache) const {
  require(batch == cache.batch(), "a step of batch {} on a cache of batch {}", batch,
          cache.batch());
  require(tokens > 0, "a step of {} tokens: nothing to run", tokens);
  const size_t width = static_cast<size_t>(config_.hidden_size);
  require(hidden.size() == static_cast<size_t>(batch) * tokens * width,
          "hidden states have {} values, expected batch {} x tokens {} x hidden {}", hidden.size(),
          batch, tokens, width);
  std::vector<SequenceStep> steps;
  for (int b = 0; b < batch; ++b) {
    steps.push_back(
        {hidden.data() + static_cast<size_t>(b) * tokens * width, tokens, position, &cache, b});
  }
  return steps;
}

void BlockSpan::check_batch(int first, int last, std::span<const SequenceStep> steps) const {
  require(start_ <= first && first < last && last <= end_,
          "blocks [{}, {}) requested from a span that holds [{}, {})", first, last, start_, end_);
  for (size_t i = 0; i < steps.size(); ++i) {
    const SequenceStep& s = steps[i];
    require(s.cache != nullptr && s.hidden != nullptr, "blocks [{}, {}): step {} has no cache",
            first, last, i);
    const KvCache& cache = *s.cache;
    require(cache.num_layers() == last - first, "blocks [{}, {}): cache has {} layers, expected {}",
            first, last, cache.num_layers(), last - first);
    require(s.row >= 0 && s.row < cache.batch(), "blocks [{}, {}): row {} of a cache of batch {}",
            first, last, s.row, cache.batch());
    require(s.tokens > 0, "blocks [{}, {}): no tokens to run", first, last);
    require(s.position >= 0 && s.position <= cache.length(),
            "blocks [{}, {}): position {} is past the cached length {}", first, last, s.position,
            cache.length());
    require(s.position + s.tokens <= cache.max_length(),
            "blocks [{}, {}): position {} + {} tokens exceeds the cache's max length {}", first,
            last, s.position, s.tokens, cache.max_length());
    for (size_t j = 0; j < i; ++j) {
      const SequenceStep& o = steps[j];
      if (o.cache != s.cache) continue;
      require(o.row != s.row, "blocks [{}, {}): row {} of one cache twice in a pass", first, last,
              s.row);
      require(o.position == s.position && o.tokens == s.tokens,
              "blocks [{}, {}): rows of one cache at different positions or token counts", first,
              last);
    }
  }
}

void BlockSpan::forward_batch(int first, int last, std::span<const SequenceStep> steps) const {
  check_batch(first, last, steps);
  if (steps.empty()) return;
  const ModelConfig& c = config_;
  const int dim = c.hidden_size, inter = c.intermediate_size, head_dim = c.head_dim;
  const int heads = c.num_attention_heads, kv_heads = c.num_key_value_heads;
  const int q_dim = c.q_dim(), kv_dim = c.kv_dim();
  const float eps = static_cast<float>(c.rms_norm_eps);

  // Row r of the pass is one token of one sequence: its step, its position.
  int rows = 0;
  bool contiguous = true;  // the steps' hidden states follow each other in memory
  for (const auto& s : steps) {
    contiguous = contiguous && s.hidden == steps[0].hidden + static_cast<size_t>(rows) * dim;
    rows += s.tokens;
  }
  std::vector<int> positions(rows), row_step(rows);
  for (int r = 0, i = 0; i < static_cast<int>(steps.size()); ++i) {
    for (int t = 0; t < steps[i].tokens; ++t, ++r) {
      positions[r] = steps[i].position + t;
      row_step[r] = i;
    }
  }
  for (const auto& s : steps) s.cache->set_length(s.position);  // drops >= position: a rollback

  // Scratch is per call so that passes on other threads never share it.
  std::vector<float> gathered;
  float* x = steps[0].hidden;
  if (!contiguous) {
    gathered.resize(static_cast<size_t>(rows) * dim);
    float* to = gathered.data();
    for (const auto& s : steps) to = std::copy_n(s.hidden, static_cast<size_t>(s.tokens) * dim, to);
    x = gathered.data();
  }
  std::vector<float> xb(static_cast<size_t>(rows) * dim), delta(static_cast<size_t>(rows) * dim);
  std::vector<float> q(static_cast<size_t>(rows) * q_dim), attn(static_cast<size_t>(rows) * q_dim);
  std::vector<float> k(static_cast<size_t>(rows) * kv_dim), v(static_cast<size_t>(rows) * kv_dim);
  std::vector<float> gate(static_cast<size_t>(rows) * inter), up(static_cast<size_t>(rows) * inter);
  std::vector<const float*> keys(static_cast<size_t>(rows) * kv_heads);
  std::vector<const float*> values(keys.size());

  // The row-wise work between the kernels runs on the pool too: in a long
  // prefill, SiLU's expf alone would otherwise leave all but one core idle
  // for a tenth of the time.
  kernels::ThreadPool& pool = kernels::ThreadPool::global();
  const auto add_rows = [&](float* to, const float* from) {
    pool.run_rows(rows, [&](int begin, int end) {
      for (size_t i = static_cast<size_t>(begin) * dim; i < static_cast<size_t>(end) * dim; ++i)
        to[i] += from[i];
    });
  };
  const auto norm_rows = [&](const std::vector<float>& weight) {
    pool.run_rows(rows, [&](int begin, int end) {
      const size_t at = static_cast<size_t>(begin) * dim;
      rmsnorm(xb.data() + at, x + at, weight, end - begin, eps);
    });
  };

  for (int layer = 0; layer < last - first; ++layer) {
    const BlockWeights& w = blocks_[first - start_ + layer];

    // Attention: q, k, v projections of the normed input.
    norm_rows(w.input_norm);
    const kernels::LinearOutput qkv[] = {{&w.wq, q.data()}, {&w.wk, k.data()}, {&w.wv, v.data()}};
    linear_many(xb.data(), rows, qkv);
    if (c.attention_bias) {
      add_bias(q.data(), w.bq, rows);
      add_bias(k.data(), w.bk, rows);
      add_bias(v.data(), w.bv, rows);
    }

    // RoPE on q and k, then k and v into each sequence's cache at their
    // positions.
    pool.run_rows(rows, [&](int begin, int end) {
      for (int r = begin; r < end; ++r) {
        const SequenceStep& s = steps[row_step[r]];
        rope(&q[static_cast<size_t>(r) * q_dim], heads, head_dim, positions[r], rope_inv_freq_);
        rope(&k[static_cast<size_t>(r) * kv_dim], kv_heads, head_dim, positions[r], rope_inv_freq_);
        for (int h = 0; h < kv_heads; ++h) {
          const size_t at = static_cast<size_t>(positions[r]) * head_dim;
          const size_t from = static_cast<size_t>(r) * kv_dim + h * head_dim;
          float* cached_keys = s.cache->keys(layer, s.row, h);
          float* cached_values = s.cache->values(layer, s.row, h);
          std::copy_n(&k[from], head_dim, cached_keys + at);
          std::copy_n(&v[from], head_dim, cached_values + at);
          keys[static_cast<size_t>(r) * kv_heads + h] = cached_keys;
          values[static_cast<size_t>(r) * kv_heads + h] = cached_values;
        }
      }
    });

    // Causal attention of every query over its sequence's cache (GQA).
    kernels::attention({q.data(), attn.data(), rows, positions.data(), heads, kv_heads, head_dim,
                        keys.data(), values.data()});

    // Output projection and residual.
    linear(attn.data(), rows, w.wo, delta.data());
    add_rows(x, delta.data());

    // SwiGLU MLP and residual: x += down(silu(gate(h)) * up(h)).
    norm_rows(w.post_norm);
    const kernels::LinearOutput gate_up[] = {{&w.w_gate, gate.data()}, {&w.w_up, up.data()}};
    linear_many(xb.data(), rows, gate_up);
    pool.run_rows(rows, [&](int begin, int end) {
      for (size_t i = static_cast<size_t>(begin) * inter; i < static_cast<size_t>(end) * inter; ++i)
        gate[i] = silu(gate[i]) * up[i];
    });
    linear(gate.data(), rows, w.w_down, delta.data());
    add_rows(x, delta.data());
  }
  if (!contiguous) {
    const float* from = gathered.data();
    for (const auto& s : steps) {
      std::copy_n(from, static_cast<size_t>(s.tokens) * dim, s.hidden);
      from += static_cast<size_t>(s.tokens) * dim;
    }
  }
  for (const auto& s : steps) s.cache->set_length(s.position + s.tokens);
}

}  // namespace brigade
