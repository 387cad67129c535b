#include "model/make_model.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "model/config.h"
#include "tokenizer/sentencepiece_trainer.h"
#include "tokenizer/tokenizer_corpus.h"
#include "util/error.h"

namespace brigade {

namespace {

// Below this the bundled corpus has more distinct characters than pieces.
constexpr int kMinTokenizerVocab = 64;
constexpr int kMaxTokenizerVocab = 512;

// Seeded N(0, 1) draws via Box-Muller on mt19937_64, so that a seed gives the
// same weights with any standard library (std::normal_distribution may not).
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  float next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * M_PI * u2;
    spare_ = static_cast<float>(r * std::sin(theta));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(theta));
  }

 private:
  std::mt19937_64 rng_;
  float spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace

void make_model(const MakeModelOptions& o, const std::filesystem::path& out) {
  // Validate through the same parser that loads configs.
  nlohmann::json j = {{"model_type", o.model_type},
                      {"hidden_size", o.hidden},
                      {"intermediate_size", o.intermediate},
                      {"num_hidden_layers", o.layers},
                      {"num_attention_heads", o.heads},
                      {"num_key_value_heads", o.kv_heads},
                      {"vocab_size", o.vocab},
                      {"max_position_embeddings", o.max_position_embeddings},
                      {"tie_word_embeddings", o.tied}};
  if (o.head_dim != 0) j["head_dim"] = o.head_dim;
  if (o.model_type == "mistral") j["rope_theta"] = 1000000.0;
  if (!o.rope_scaling.empty()) {
    try {
      j["rope_scaling"] = nlohmann::json::parse(o.rope_scaling);
    } catch (const nlohmann::json::exception& e) {
      fail("make-model: rope_scaling is not JSON: {}", e.what());
    }
  }
  if (o.sliding_window != 0) {
    j["sliding_window"] = o.sliding_window;
    if (o.model_type == "qwen2") {
      j["use_sliding_window"] = true;
      j["max_window_layers"] = 0;  // every layer slides
    }
  }
  const ModelConfig config = ModelConfig::from_json(j, "make-model options");
  require(!o.tokenizer || o.vocab >= kMinTokenizerVocab,
          "make-model: vocab {} is too small for the tokenizer (needs >= {}; or make the model "
          "without a tokenizer)",
          o.vocab, kMinTokenizerVocab);

  const int64_t hidden = config.hidden_size, inter = config.intermediate_size;
  const int64_t q_dim = config.q_dim(), kv_dim = config.kv_dim(), vocab = config.vocab_size;
  Normal normal(o.seed);
  std::vector<TensorToWrite> tensors;
  // A matrix [rows, cols] scaled by 1/sqrt(fan_in) keeps each projection's
  // output at the scale of its input.
  auto matrix = [&](std::string name, int64_t rows, int64_t cols, float scale) {
    TensorToWrite t{std::move(name), {rows, cols}, std::vector<float>(rows * cols)};
    for (auto& x : t.data) x = normal.next() * scale;
    tensors.push_back(std::move(t));
  };
  auto vector = [&](std::string name, int64_t n, float mean, float noise) {
    TensorToWrite t{std::move(name), {n}, std::vector<float>(n)};
    for (auto& x : t.data) x = mean + noise * normal.next();
    tensors.push_back(std::move(t));
  };
  auto inv_sqrt = [](int64_t n) { return static_cast<float>(1.0 / std::sqrt(double(n))); };

  matrix("model.embed_tokens.weight", vocab, hidden, 1.0f);
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    const auto p = fmt::format("model.layers.{}.", i);
    vector(p + "input_layernorm.weight", hidden, 1.0f, 0.1f);
    matrix(p + "self_attn.q_proj.weight", q_dim, hidden, inv_sqrt(hidden));
    if (config.attention_bias) vector(p + "self_attn.q_proj.bias", q_dim, 0.0f, 0.1f);
    matrix(p + "self_attn.k_proj.weight", kv_dim, hidden, inv_sqrt(hidden));
    if (config.attention_bias) vector(p + "self_attn.k_proj.bias", kv_dim, 0.0f, 0.1f);
    matrix(p + "self_attn.v_proj.weight", kv_dim, hidden, inv_sqrt(hidden));
    if (config.attention_bias) vector(p + "self_attn.v_proj.bias", kv_dim, 0.0f, 0.1f);
    matrix(p + "self_attn.o_proj.weight", hidden, q_dim, inv_sqrt(q_dim));
    vector(p + "post_attention_layernorm.weight", hidden, 1.0f, 0.1f);
    matrix(p + "mlp.gate_proj.weight", inter, hidden, inv_sqrt(hidden));
    matrix(p + "mlp.up_proj.weight", inter, hidden, inv_sqrt(hidden));
    matrix(p + "mlp.down_proj.weight", hidden, inter, inv_sqrt(inter));
  }
  vector("model.norm.weight", hidden, 1.0f, 0.1f);
  if (!config.tie_word_embeddings) matrix("lm_head.weight", vocab, hidden, inv_sqrt(hidden));

  std::filesystem::create_directories(out);
  write_safetensors(out, tensors, o.dtype, o.shards);

  nlohmann::json config_json = config.to_json();
  config_json["torch_dtype"] = torch_dtype_name(o.dtype);
  const auto config_path = out / "config.json";
  std::ofstream config_file(config_path, std::ios::trunc);
  config_file << config_json.dump(2) << "\n";
  config_file.close();
  require(config_file.good(), "{}: write failed", config_path.string());

  if (o.tokenizer) train_tokenizer(kTokenizerCorpus, std::min(o.vocab, kMaxTokenizerVocab), out);
}

}  // namespace brigade
