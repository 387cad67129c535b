#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "util/error.h"

namespace brigade {

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  require(options.temperature >= 0, "temperature must be >= 0, got {}", options.temperature);
  require(options.top_k >= 0, "top-k must be >= 0, got {}", options.top_k);
  require(options.top_p > 0 && options.top_p <= 1, "top-p must be in (0, 1], got {}",
          options.top_p);
  require(options.repetition_penalty > 0, "repetition penalty must be > 0, got {}",
          options.repetition_penalty);
}

int32_t Sampler::sample(std::span<const float> raw_logits, std::span<const int32_t> history) {
  require(!raw_logits.empty(), "sample: empty logits");
  std::vector<float> penalized;
  std::span<const float> logits = raw_logits;
  if (options_.repetition_penalty != 1.0f && !history.empty()) {
    penalized.assign(raw_logits.begin(), raw_logits.end());
    std::vector<bool> seen(penalized.size(), false);
    for (int32_t id : history) {
      if (id < 0 || static_cast<size_t>(id) >= penalized.size() || seen[id]) continue;
      seen[id] = true;
      float& l = penalized[id];
      l = l < 0 ? l * options_.repetition_penalty : l / options_.repetition_penalty;
    }
    logits = penalized;
  }
  if (options_.temperature == 0.0f) {
    // max_element returns the first maximum: ties go to the lowest id.
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // Candidates by decreasing logit; the stable sort keeps lower ids first on ties.
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = order.size();
  if (options_.top_k > 0) keep = std::min(keep, static_cast<size_t>(options_.top_k));

  std::vector<double> probs(keep);
  const double max = logits[order[0]];
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((logits[order[i]] - max) / options_.temperature);
    sum += probs[i];
  }
  for (auto& p : probs) p /= sum;
  if (options_.top_p < 1.0f) {
    // Smallest prefix whose mass reaches top_p (at least one token).
    double mass = 0;
    size_t n = 0;
    while (n < keep && mass < options_.top_p) mass += probs[n++];
    keep = n;
    probs.resize(keep);
    for (auto& p : probs) p /= mass;
  }
  // A uniform double from the top 53 bits, so that a seed gives the same
  // tokens with any standard library.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double cumulative = 0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];  // u fell in the rounding slack of the last bucket
}

}  // namespace brigade
