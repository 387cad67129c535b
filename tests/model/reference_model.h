#pragma once
// An independent reference for the forward pass: plain loops in double
// precision, written from the HF Llama/Qwen2 definitions without any of the
// engine's kernels, caches or BLAS. Slow (recomputes the whole sequence for
// every call) and only meant for the tiny models of the tests.

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/format.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace brigade::test {

// RoPE inverse frequencies in double, written from transformers'
// _compute_default_rope_parameters, _compute_linear_scaling_rope_parameters
// and _compute_llama3_parameters (torch.where over the three bands), apart
// from the engine's rope.cpp.
inline std::vector<double> reference_inv_freq(const ModelConfig& c) {
  const int dim = c.head_dim;
  const RopeScaling& s = c.rope_scaling;
  std::vector<double> inv(dim / 2);
  for (int i = 0; i < dim / 2; ++i) inv[i] = 1.0 / std::pow(c.rope_theta, 2.0 * i / dim);
  if (s.type == "linear") {
    for (auto& f : inv) f /= s.factor;
  } else if (s.type == "llama3") {
    const double old_context = s.original_max_position_embeddings;
    const double low_freq_wavelen = old_context / s.low_freq_factor;
    const double high_freq_wavelen = old_context / s.high_freq_factor;
    for (auto& f : inv) {
      const double wavelen = 2 * M_PI / f;
      const double llama = wavelen > low_freq_wavelen ? f / s.factor : f;
      const double smooth =
          (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      const double smoothed = (1 - smooth) * llama / s.factor + smooth * llama;
      const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
      f = medium ? smoothed : llama;
    }
  } else if (s.type != "default") {
    throw std::runtime_error("reference_inv_freq: no reference for rope type " + s.type);
  }
  return inv;
}

class ReferenceModel {
 public:
  using Vec = std::vector<double>;

  // With `quant`, the linear layers (and the LM head) use the weights the
  // engine's --quant computes with: quantized to int8/int4 blocks and
  // widened back, so that only the engine's own arithmetic differs.
  explicit ReferenceModel(const std::filesystem::path& dir,
                          kernels::Quant quant = kernels::Quant::kNone)
      : c_(ModelConfig::load(dir)), inv_freq_(reference_inv_freq(c_)) {
    const auto checkpoint = Checkpoint::open(dir);
    const int64_t d = c_.hidden_size, f = c_.intermediate_size, v = c_.vocab_size;
    const int64_t qd = c_.q_dim(), kvd = c_.kv_dim();
    auto load = [&](const std::string& name, std::vector<int64_t> shape) {
      const auto values = checkpoint->load(name, shape);
      return Vec(values.begin(), values.end());
    };
    auto matrix = [&](const std::string& name, std::vector<int64_t> shape) {
      auto values = checkpoint->load(name, shape);
      if (quant != kernels::Quant::kNone) {
        const int in = static_cast<int>(shape[1]);
        const auto format = quant == kernels::Quant::kInt8 ? kernels::WeightFormat::kInt8
                                                           : kernels::WeightFormat::kInt4;
        std::vector<uint8_t> row(kernels::row_bytes(format, in));
        for (int64_t r = 0; r < shape[0]; ++r) {
          float* x = &values[r * in];
          kernels::quantize_row(format, x, row.data(), in);
          kernels::dequantize_row(format, row.data(), x, in);
        }
      }
      return Vec(values.begin(), values.end());
    };
    embed_ = load("model.embed_tokens.weight", {v, d});
    norm_ = load("model.norm.weight", {d});
    head_ = matrix(c_.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight", {v, d});
    for (int i = 0; i < c_.num_hidden_layers; ++i) {
      const auto p = fmt::format("model.layers.{}.", i);
      Layer l;
      l.ln1 = load(p + "input_layernorm.weight", {d});
      l.wq = matrix(p + "self_attn.q_proj.weight", {qd, d});
      l.wk = matrix(p + "self_attn.k_proj.weight", {kvd, d});
      l.wv = matrix(p + "self_attn.v_proj.weight", {kvd, d});
      l.wo = matrix(p + "self_attn.o_proj.weight", {d, qd});
      if (c_.attention_bias) {
        l.bq = load(p + "self_attn.q_proj.bias", {qd});
        l.bk = load(p + "self_attn.k_proj.bias", {kvd});
        l.bv = load(p + "self_attn.v_proj.bias", {kvd});
      }
      l.ln2 = load(p + "post_attention_layernorm.weight", {d});
      l.gate = matrix(p + "mlp.gate_proj.weight", {f, d});
      l.up = matrix(p + "mlp.up_proj.weight", {f, d});
      l.down = matrix(p + "mlp.down_proj.weight", {d, f});
      layers_.push_back(std::move(l));
    }
  }

  const ModelConfig& config() const { return c_; }

  // Logits [ids.size()][vocab] of every position of the sequence.
  std::vector<Vec> logits(const std::vector<int32_t>& ids) const {
    const int n = static_cast<int>(ids.size()), d = c_.hidden_size, hd = c_.head_dim;
    const int heads = c_.num_attention_heads, kv_heads = c_.num_key_value_heads;
    std::vector<Vec> x(n);
    for (int t = 0; t < n; ++t)
      x[t] = Vec(embed_.begin() + ids[t] * d, embed_.begin() + (ids[t] + 1) * d);
    for (const auto& l : layers_) {
      std::vector<Vec> q(n), k(n), v(n);
      for (int t = 0; t < n; ++t) {
        const Vec h = rmsnorm(x[t], l.ln1);
        q[t] = linear(l.wq, h, l.bq);
        k[t] = linear(l.wk, h, l.bk);
        v[t] = linear(l.wv, h, l.bv);
        rotate(q[t], heads, t);
        rotate(k[t], kv_heads, t);
      }
      for (int t = 0; t < n; ++t) {
        Vec attn(c_.q_dim(), 0.0);
        for (int h = 0; h < heads; ++h) {
          const int kvh = h * kv_heads / heads;
          Vec w(t + 1);
          double max = -1e300;
          for (int s = 0; s <= t; ++s) {
            double dot = 0;
            for (int i = 0; i < hd; ++i) dot += q[t][h * hd + i] * k[s][kvh * hd + i];
            w[s] = dot / std::sqrt(static_cast<double>(hd));
            max = std::max(max, w[s]);
          }
          double sum = 0;
          for (auto& e : w) sum += (e = std::exp(e - max));
          for (int s = 0; s <= t; ++s)
            for (int i = 0; i < hd; ++i) attn[h * hd + i] += w[s] / sum * v[s][kvh * hd + i];
        }
        const Vec o = linear(l.wo, attn, {});
        for (int i = 0; i < d; ++i) x[t][i] += o[i];
        const Vec h = rmsnorm(x[t], l.ln2);
        const Vec g = linear(l.gate, h, {}), u = linear(l.up, h, {});
        Vec act(g.size());
        for (size_t i = 0; i < g.size(); ++i) act[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
        const Vec down = linear(l.down, act, {});
        for (int i = 0; i < d; ++i) x[t][i] += down[i];
      }
    }
    std::vector<Vec> out(n);
    for (int t = 0; t < n; ++t) out[t] = linear(head_, rmsnorm(x[t], norm_), {});
    return out;
  }

  // Greedy continuation of `prompt` by `count` tokens (no EOS stop).
  std::vector<int32_t> greedy(std::vector<int32_t> ids, int count) const {
    std::vector<int32_t> out;
    for (int i = 0; i < count; ++i) {
      const Vec last = logits(ids).back();
      int32_t best = 0;
      for (int32_t j = 1; j < static_cast<int32_t>(last.size()); ++j)
        if (last[j] > last[best]) best = j;
      ids.push_back(best);
      out.push_back(best);
    }
    return out;
  }

 private:
  struct Layer {
    Vec ln1, wq, wk, wv, wo, bq, bk, bv, ln2, gate, up, down;
  };

  Vec rmsnorm(const Vec& x, const Vec& w) const {
    double ms = 0;
    for (double e : x) ms += e * e;
    ms /= static_cast<double>(x.size());
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ms + c_.rms_norm_eps) * w[i];
    return y;
  }

  // y = W x + b with W [out, in] row-major.
  static Vec linear(const Vec& w, const Vec& x, const Vec& b) {
    const size_t in = x.size(), out = w.size() / in;
    Vec y(out);
    for (size_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (size_t i = 0; i < in; ++i) s += w[o * in + i] * x[i];
      y[o] = s;
    }
    return y;
  }

  // HF apply_rotary_pos_emb: x * cos + rotate_half(x) * sin, where
  // rotate_half(x) = [-x2, x1] over the two halves of each head.
  void rotate(Vec& x, int heads, int position) const {
    const int hd = c_.head_dim, half = hd / 2;
    for (int h = 0; h < heads; ++h) {
      Vec r(hd);
      for (int j = 0; j < hd; ++j) {
        const int i = j % half;
        const double angle = position * inv_freq_[i];
        const double rotated = j < half ? -x[h * hd + j + half] : x[h * hd + j - half];
        r[j] = x[h * hd + j] * std::cos(angle) + rotated * std::sin(angle);
      }
      std::copy(r.begin(), r.end(), x.begin() + h * hd);
    }
  }

  ModelConfig c_;
  Vec inv_freq_;  // [head_dim / 2]
  Vec embed_, norm_, head_;
  std::vector<Layer> layers_;
};

// max|a - b| / max|b|
inline double relative_error(const std::vector<float>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

}  // namespace brigade::test
