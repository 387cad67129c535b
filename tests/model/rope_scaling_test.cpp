// RoPE scaling (rope_scaling "linear" and "llama3"): the frequencies against
// values worked out by hand from transformers' formula for Llama 3.1 8B, and
// the forward pass of scaled checkpoints against the double-precision reference.

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "model/block_span.h"
#include "model/model_head.h"
#include "model/reference_model.h"
#include "model/rope.h"

namespace brigade::test {
namespace {

constexpr double kTolerance = 1e-4;

// Llama 3.1 8B's config.json, as Meta publishes it.
nlohmann::json llama31_8b() {
  return nlohmann::json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
    "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
    "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
    "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})");
}

TEST(RopeInvFreq, Llama31MatchesTransformersFormulaInEachBand) {
  const auto config = ModelConfig::from_json(llama31_8b(), "llama31");
  ASSERT_EQ(config.head_dim, 128);
  const auto inv_freq = rope_inv_freq(config);
  ASSERT_EQ(inv_freq.size(), 64u);
  // Worked out in double from _compute_llama3_parameters: f = 500000^(-2i/128),
  // wavelength w = 2 pi / f; w < 8192/4 keeps f; w > 8192/1 gives f / 8;
  // between, s = (8192 / w - 1) / 3 and (1 - s) f / 8 + s f.
  const std::vector<std::pair<int, double>> expected = {
      {0, 1.0},                // high band: unchanged
      {1, 8.146172339e-01},    // high
      {20, 1.656044008e-02},   // high
      {28, 3.211445995e-03},   // high, the last one (w = 1956.5)
      {29, 2.166570764e-03},   // middle (f = 2.616099253e-03)
      {30, 1.371893568e-03},   // middle (f = 2.131119537e-03)
      {32, 5.248461610e-04},   // middle (f = 1.414213562e-03)
      {34, 1.785078128e-04},   // middle, the last one (f = 9.384738704e-04)
      {35, 9.556212354e-05},   // low band: f / 8 (f = 7.644969883e-04)
      {40, 3.428102196e-05},   // low
      {63, 3.068925989e-07}};  // low (f = 2.455140791e-06)
  for (const auto& [i, value] : expected)
    EXPECT_NEAR(inv_freq[i], value, value * 1e-6) << "inv_freq[" << i << "]";
}

TEST(RopeInvFreq, LinearDividesEveryFrequencyAndDefaultIsThePlainPower) {
  auto j = llama31_8b();
  j["rope_scaling"] = nullptr;
  const auto plain = rope_inv_freq(ModelConfig::from_json(j, "plain"));
  for (int i : {0, 17, 63})
    EXPECT_FLOAT_EQ(plain[i], static_cast<float>(std::pow(500000.0, -2.0 * i / 128)));
  // The legacy key "type" means the same as "rope_type".
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  const auto linear = rope_inv_freq(ModelConfig::from_json(j, "linear"));
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_FLOAT_EQ(linear[i], plain[i] / 4.0f) << i;
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(rope_inv_freq(ModelConfig::from_json(j, "default")), plain);
}

// A small checkpoint whose head_dim 16 and theta 10000 put frequencies in
// all three llama3 bands: wavelengths 6.3, 20, 63 (< 256/4), 199 (between),
// 628 and up (> 256/1).
const char* kLlama3 = R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, )"
                      R"("high_freq_factor": 4.0, "original_max_position_embeddings": 256})";
const char* kLinear = R"({"type": "linear", "factor": 4.0})";

class ScaledForward : public testing::TestWithParam<const char*> {};

TEST_P(ScaledForward, LogitsMatchTheReferenceAndDifferFromUnscaled) {
  TempDir dir;
  auto options = small_model_options();
  const auto unscaled_path = make_small_model(dir, options, "unscaled");
  options.rope_scaling = GetParam();
  const auto path = make_small_model(dir, options, "scaled");  // same seed: same weights

  const ModelConfig config = ModelConfig::load(path);
  ASSERT_NE(config.rope_scaling.type, "default");
  const auto checkpoint = Checkpoint::open(path);
  const ModelHead head(config, *checkpoint);
  const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers);
  const ReferenceModel reference(path), unscaled(unscaled_path);

  const int n = 40, vocab = config.vocab_size, d = config.hidden_size;
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 5) % vocab);
  std::vector<float> hidden(static_cast<size_t>(n) * d);
  head.embed(ids, hidden);
  auto cache = span.make_cache(1, n);
  span.forward(hidden, 1, n, 0, cache);
  std::vector<float> logits(static_cast<size_t>(n) * vocab);
  head.logits(hidden, n, logits);

  const auto expected = reference.logits(ids), plain = unscaled.logits(ids);
  for (int t : {0, 1, 7, n - 1}) {
    const std::vector<float> row(logits.begin() + t * vocab, logits.begin() + (t + 1) * vocab);
    EXPECT_LE(relative_error(row, expected[t]), kTolerance) << "position " << t;
  }
  // The scaling matters at the last position, so the comparison above tests it.
  const std::vector<float> last(logits.end() - vocab, logits.end());
  EXPECT_GT(relative_error(last, plain[n - 1]), 100 * kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Types, ScaledForward, testing::Values(kLlama3, kLinear),
                         [](const auto& info) {
                           return std::string(info.param == kLlama3 ? "llama3" : "linear");
                         });

}  // namespace
}  // namespace brigade::test
