// The engine at every weight format (f32, bf16, f16 as stored; int8, int4
// quantized at load) on every kernel path this CPU has: batch invariance
// (a prefill equals one-token steps, a sequence does not depend on its batch
// neighbours), paths agree bitwise, and quantized models stay close to the
// reference run on the same dequantized weights.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/test_util.h"
#include "kernels/cpu.h"
#include "model/block_span.h"
#include "model/generator.h"
#include "model/local_runner.h"
#include "model/model_head.h"
#include "model/reference_model.h"

namespace brigade::test {
namespace {

struct Format {
  std::string name;
  DType dtype;
  kernels::Quant quant;
};

const Format kFormats[] = {{"f32", DType::F32, kernels::Quant::kNone},
                           {"bf16", DType::BF16, kernels::Quant::kNone},
                           {"f16", DType::F16, kernels::Quant::kNone},
                           {"int8", DType::F32, kernels::Quant::kInt8},
                           {"int4", DType::F32, kernels::Quant::kInt4}};

void PrintTo(const Format& f, std::ostream* os) { *os << f.name; }

std::vector<float> some_hidden(int rows, int dim, int salt) {
  std::vector<float> h(static_cast<size_t>(rows) * dim);
  for (size_t i = 0; i < h.size(); ++i)
    h[i] = static_cast<float>(((i * 7 + salt * 13) % 23) - 11) / 8.0f;
  return h;
}

bool same_bits(const float* a, const float* b, size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

// Restores the process's kernel path when a test that loops over paths ends.
class IsaGuard {
 public:
  IsaGuard() : saved_(kernels::active_isa()) {}
  ~IsaGuard() { kernels::force_isa(saved_); }

 private:
  kernels::Isa saved_;
};

class FormatsTest : public testing::TestWithParam<Format> {
 protected:
  void SetUp() override {
    auto options = small_model_options();
    options.dtype = GetParam().dtype;
    options.layers = 3;
    path_ = make_small_model(dir_, options);
    config_ = ModelConfig::load(path_);
    checkpoint_ = Checkpoint::open(path_);
    span_ = std::make_unique<BlockSpan>(config_, *checkpoint_, 0, config_.num_hidden_layers,
                                        GetParam().quant);
  }

  TempDir dir_;
  std::filesystem::path path_;
  ModelConfig config_;
  std::shared_ptr<const Checkpoint> checkpoint_;
  std::unique_ptr<BlockSpan> span_;
};

TEST_P(FormatsTest, ComputesInTheFormatAskedFor) {
  EXPECT_EQ(GetParam().name, kernels::format_name(span_->weight_format()));
  EXPECT_NE(span_->numerics_id().find(GetParam().name), std::string::npos) << span_->numerics_id();
}

TEST_P(FormatsTest, PrefillEqualsOneTokenStepsBitwiseOnEveryPath) {
  IsaGuard guard;
  const int n = 9, dim = config_.hidden_size;
  const auto input = some_hidden(n, dim, 1);
  std::vector<float> reference_out;
  for (kernels::Isa isa : kernels::supported_isas()) {
    kernels::force_isa(isa);
    auto prefill = input;
    auto prefill_cache = span_->make_cache(1, n);
    span_->forward(prefill, 1, n, 0, prefill_cache);

    // The same tokens as 9 one-token steps, and as chunks of 4 and 5.
    auto steps_cache = span_->make_cache(1, n);
    auto chunks_cache = span_->make_cache(1, n);
    std::vector<float> chunk_out(input.begin(), input.end());
    span_->forward(std::span<float>(chunk_out).subspan(0, 4 * dim), 1, 4, 0, chunks_cache);
    span_->forward(std::span<float>(chunk_out).subspan(4 * dim), 1, 5, 4, chunks_cache);
    for (int t = 0; t < n; ++t) {
      std::vector<float> step(input.begin() + t * dim, input.begin() + (t + 1) * dim);
      span_->forward(step, 1, 1, t, steps_cache);
      EXPECT_TRUE(same_bits(step.data(), &prefill[static_cast<size_t>(t) * dim], dim))
          << kernels::isa_name(isa) << ": step " << t << " differs from the prefill";
    }
    EXPECT_TRUE(same_bits(chunk_out.data(), prefill.data(), prefill.size()))
        << kernels::isa_name(isa) << ": chunked prefill differs";
    for (int layer = 0; layer < config_.num_hidden_layers; ++layer) {
      for (int h = 0; h < config_.num_key_value_heads; ++h) {
        const size_t values = static_cast<size_t>(n) * config_.head_dim;
        EXPECT_TRUE(
            same_bits(steps_cache.keys(layer, 0, h), prefill_cache.keys(layer, 0, h), values))
            << kernels::isa_name(isa) << ": keys of layer " << layer << " head " << h;
        EXPECT_TRUE(
            same_bits(steps_cache.values(layer, 0, h), prefill_cache.values(layer, 0, h), values))
            << kernels::isa_name(isa) << ": values of layer " << layer << " head " << h;
      }
    }
    // Every path of this CPU computes the same bits as the first.
    if (reference_out.empty()) reference_out = prefill;
    EXPECT_TRUE(same_bits(prefill.data(), reference_out.data(), prefill.size()))
        << kernels::isa_name(isa) << " differs from " << kernels::isa_name(kernels::Isa::kPortable);
  }
}

TEST_P(FormatsTest, ASequenceDoesNotDependOnItsBatchNeighbours) {
  const int n = 5, dim = config_.hidden_size;
  const auto a = some_hidden(n, dim, 2), b = some_hidden(n, dim, 3);
  std::vector<float> both(a);
  both.insert(both.end(), b.begin(), b.end());
  auto batch_cache = span_->make_cache(2, n);
  span_->forward(both, 2, n, 0, batch_cache);
  for (int s = 0; s < 2; ++s) {
    auto alone = s == 0 ? a : b;
    auto cache = span_->make_cache(1, n);
    span_->forward(alone, 1, n, 0, cache);
    EXPECT_TRUE(same_bits(alone.data(), &both[static_cast<size_t>(s) * n * dim], alone.size()))
        << "sequence " << s;
  }
}

// Float formats are compared with the reference in forward_test.cpp (on the
// same rounded weights, 1e-4). Quantized ones run against the reference on
// the dequantized weights: the remaining difference is the int8 rounding of
// activations (one step = 1/254 of a block's largest magnitude), which we
// bound by 3% of the largest logit on these models. Greedy tokens must agree
// with the reference's, except at a near tie: where they differ, the two
// reference logits must lie within that bound of each other.
class QuantizedFormatsTest : public FormatsTest {};

TEST_P(QuantizedFormatsTest, StaysCloseToTheReferenceOnItsOwnWeights) {
  const ModelHead head(config_, *checkpoint_, GetParam().quant);
  const ReferenceModel reference(path_, GetParam().quant);
  GenerationRequest request;
  request.prompt_ids = {3, 17, 42, 9, 100};
  request.max_new_tokens = 6;
  request.stop_at_eos = false;
  request.keep_first_logits = true;
  LocalBlockRunner runner(*span_, 1, 11);
  const auto result = generate(head, nullptr, runner, request);
  constexpr double kBound = 3e-2;
  const auto expected = reference.logits(request.prompt_ids).back();
  EXPECT_LE(relative_error(result.first_logits, expected), kBound);
  // Follow the engine's tokens through the reference.
  const auto all = reference.logits(result.ids);
  int exact = 0;
  for (size_t i = 0; i < result.new_ids.size(); ++i) {
    const auto& ref = all[request.prompt_ids.size() - 1 + i];
    const auto top = std::max_element(ref.begin(), ref.end()) - ref.begin();
    double scale = 0;
    for (double v : ref) scale = std::max(scale, std::abs(v));
    if (top == result.new_ids[i]) {
      ++exact;
      continue;
    }
    EXPECT_LE(ref[top] - ref[result.new_ids[i]], kBound * scale)
        << "token " << i << ": engine chose " << result.new_ids[i] << ", reference " << top;
  }
  EXPECT_GE(exact, 4) << "fewer than 4 of 6 greedy tokens equal the reference's";
}

INSTANTIATE_TEST_SUITE_P(Formats, FormatsTest, testing::ValuesIn(kFormats),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(Formats, QuantizedFormatsTest, testing::Values(kFormats[3], kFormats[4]),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace brigade::test
