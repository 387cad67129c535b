#include "model/block_span.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "model/kernels.h"
#include "util/error.h"

namespace brigade {

using namespace kernels;

// ---- loading ----------------------------------------------------------------

BlockSpan::BlockSpan(const ModelConfig& config, const Checkpoint& checkpoint, int start, int end)
    : config_(config), start_(start), end_(end) {
  require(0 <= start && start < end && end <= config.num_hidden_layers,
          "block span [{}, {}) is empty or outside the model's {} blocks", start, end,
          config.num_hidden_layers);
  const int64_t hidden = config.hidden_size, inter = config.intermediate_size;
  const int64_t q_dim = config.q_dim(), kv_dim = config.kv_dim();
  for (int i = start; i < end; ++i) {
    const auto prefix = fmt::format("model.layers.{}.", i);
    auto load = [&](const std::string& suffix, std::vector<int64_t> shape) {
      return checkpoint.load(prefix + suffix, shape);
    };
    BlockWeights w;
    w.input_norm = load("input_layernorm.weight", {hidden});
    w.wq = load("self_attn.q_proj.weight", {q_dim, hidden});
    w.wk = load("self_attn.k_proj.weight", {kv_dim, hidden});
    w.wv = load("self_attn.v_proj.weight", {kv_dim, hidden});
    w.wo = load("self_attn.o_proj.weight", {hidden, q_dim});
    if (config.attention_bias) {
      w.bq = load("self_attn.q_proj.bias", {q_dim});
      w.bk = load("self_attn.k_proj.bias", {kv_dim});
      w.bv = load("self_attn.v_proj.bias", {kv_dim});
    }
    w.post_norm = load("post_attention_layernorm.weight", {hidden});
    w.w_gate = load("mlp.gate_proj.weight", {inter, hidden});
    w.w_up = load("mlp.up_proj.weight", {inter, hidden});
    w.w_down = load("mlp.down_proj.weight", {hidden, inter});
    blocks_.push_back(std::move(w));
  }
  const int half = config.head_dim / 2;
  rope_inv_freq_.resize(half);
  for (int i = 0; i < half; ++i)
    rope_inv_freq_[i] = static_cast<float>(
        std::pow(config.rope_theta, -2.0 * i / static_cast<double>(config.head_dim)));
}

size_t BlockSpan::weight_bytes() const {
  size_t floats = 0;
  for (const auto& w : blocks_) {
    for (const auto* t : {&w.input_norm, &w.wq, &w.wk, &w.wv, &w.wo, &w.bq, &w.bk, &w.bv,
                          &w.post_norm, &w.w_gate, &w.w_up, &w.w_down})
      floats += t->size();
  }
  return floats * sizeof(float);
}

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
  const ModelConfig& c = config_;
  require(start_ <= first && first < last && last <= end_,
          "blocks [{}, {}) requested from a span that holds [{}, {})", first, last, start_, end_);
  require(cache.num_layers() == last - first, "blocks [{}, {}): cache has {} layers, expected {}",
          first, last, cache.num_layers(), last - first);
  require(batch == cache.batch(), "blocks [{}, {}): batch {} but the cache holds batch {}", first,
          last, batch, cache.batch());
  require(tokens > 0, "blocks [{}, {}): no tokens to run", first, last);
  require(position >= 0 && position <= cache.length(),
          "blocks [{}, {}): position {} is past the cached length {}", first, last, position,
          cache.length());
  require(position + tokens <= cache.max_length(),
          "blocks [{}, {}): position {} + {} tokens exceeds the cache's max length {}", first, last,
          position, tokens, cache.max_length());
  require(hidden.size() == static_cast<size_t>(batch) * tokens * c.hidden_size,
          "blocks [{}, {}): hidden states have {} values, expected batch {} x tokens {} x hidden "
          "{}",
          first, last, hidden.size(), batch, tokens, c.hidden_size);
  cache.set_length(position);  // drops entries at >= position: a rollback

  const int dim = c.hidden_size, inter = c.intermediate_size, head_dim = c.head_dim;
  const int heads = c.num_attention_heads, kv_heads = c.num_key_value_heads;
  const int q_dim = c.q_dim(), kv_dim = c.kv_dim();
  const int group = heads / kv_heads;  // query heads per kv head (GQA)
  const int rows = batch * tokens;
  const float eps = static_cast<float>(c.rms_norm_eps);

  // Scratch is per call so that sessions on other threads never share it.
  std::vector<float> xb(static_cast<size_t>(rows) * dim), delta(static_cast<size_t>(rows) * dim);
  std::vector<float> q(static_cast<size_t>(rows) * q_dim), attn(static_cast<size_t>(rows) * q_dim);
  std::vector<float> k(static_cast<size_t>(rows) * kv_dim), v(static_cast<size_t>(rows) * kv_dim);
  std::vector<float> gate(static_cast<size_t>(rows) * inter), up(static_cast<size_t>(rows) * inter);
  std::vector<float> scores(position + tokens);
  float* x = hidden.data();

  for (int layer = 0; layer < last - first; ++layer) {
    const BlockWeights& w = blocks_[first - start_ + layer];

    // Attention: q, k, v projections of the normed input.
    rmsnorm(xb.data(), x, w.input_norm, rows, eps);
    matmul(q.data(), xb.data(), w.wq.data(), rows, q_dim, dim);
    matmul(k.data(), xb.data(), w.wk.data(), rows, kv_dim, dim);
    matmul(v.data(), xb.data(), w.wv.data(), rows, kv_dim, dim);
    if (c.attention_bias) {
      add_bias(q.data(), w.bq, rows);
      add_bias(k.data(), w.bk, rows);
      add_bias(v.data(), w.bv, rows);
    }

    // RoPE on q and k, then k and v into the cache at their positions.
    for (int b = 0; b < batch; ++b) {
      for (int t = 0; t < tokens; ++t) {
        const size_t r = static_cast<size_t>(b) * tokens + t;
        rope(&q[r * q_dim], heads, head_dim, position + t, rope_inv_freq_);
        rope(&k[r * kv_dim], kv_heads, head_dim, position + t, rope_inv_freq_);
        for (int h = 0; h < kv_heads; ++h) {
          const size_t at = static_cast<size_t>(position + t) * head_dim;
          std::copy_n(&k[r * kv_dim + h * head_dim], head_dim, cache.keys(layer, b, h) + at);
          std::copy_n(&v[r * kv_dim + h * head_dim], head_dim, cache.values(layer, b, h) + at);
        }
      }
    }

    // Causal attention per query head; query head h reads kv head h / group.
    for (int b = 0; b < batch; ++b) {
      for (int t = 0; t < tokens; ++t) {
        const size_t r = static_cast<size_t>(b) * tokens + t;
        for (int h = 0; h < heads; ++h) {
          attend(&attn[r * q_dim + h * head_dim], &q[r * q_dim + h * head_dim],
                 cache.keys(layer, b, h / group), cache.values(layer, b, h / group), position + t,
                 head_dim, scores.data());
        }
      }
    }

    // Output projection and residual.
    matmul(delta.data(), attn.data(), w.wo.data(), rows, dim, q_dim);
    for (size_t i = 0; i < delta.size(); ++i) x[i] += delta[i];

    // SwiGLU MLP and residual: x += down(silu(gate(h)) * up(h)).
    rmsnorm(xb.data(), x, w.post_norm, rows, eps);
    matmul(gate.data(), xb.data(), w.w_gate.data(), rows, inter, dim);
    matmul(up.data(), xb.data(), w.w_up.data(), rows, inter, dim);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = silu(gate[i]) * up[i];
    matmul(delta.data(), gate.data(), w.w_down.data(), rows, dim, inter);
    for (size_t i = 0; i < delta.size(); ++i) x[i] += delta[i];
  }
  cache.set_length(position + tokens);
}

}  // namespace brigade
