#pragma once
// Token sampling from logits: greedy (temperature 0), temperature, top-k and
// top-p (nucleus), with a seeded generator so that a seed reproduces a run.

#include <cstdint>
#include <random>
#include <span>

namespace brigade {

struct SamplingOptions {
  float temperature = 0.0f;  // 0 = greedy (argmax; ties go to the lowest id)
  int top_k = 0;             // 0 = no top-k cut
  float top_p = 1.0f;        // 1 = no nucleus cut
  uint64_t seed = 0;
  // > 0; 1 = off. transformers' RepetitionPenaltyLogitsProcessor: before
  // anything else (greedy too), the logit of every id already in the
  // sequence (prompt and new tokens) is divided by it when positive and
  // multiplied by it when negative.
  float repetition_penalty = 1.0f;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  // `history`: the ids of the sequence so far (for repetition_penalty).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history = {});

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace brigade
