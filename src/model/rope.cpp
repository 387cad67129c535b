#include "model/rope.h"

#include <cmath>
#include <numbers>

#include "util/error.h"

namespace brigade {

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  const int half = config.head_dim / 2;
  const RopeScaling& s = config.rope_scaling;
  std::vector<float> inv_freq(half);
  for (int i = 0; i < half; ++i) {
    double f = std::pow(config.rope_theta, -2.0 * i / static_cast<double>(config.head_dim));
    if (s.type == "linear") {
      f /= s.factor;
    } else if (s.type == "llama3") {
      const double original = s.original_max_position_embeddings;
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > original / s.low_freq_factor) {
        f /= s.factor;  // low frequencies: interpolated like "linear"
      } else if (wavelen >= original / s.high_freq_factor) {
        // Between the bands: (1 - smooth) * f / factor + smooth * f.
        const double smooth =
            (original / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1.0 - smooth) * f / s.factor + smooth * f;
      }  // high frequencies (wavelen < original / high_freq_factor) stay
    } else {
      require(s.type == "default", "rope_inv_freq: rope type '{}' is not implemented", s.type);
    }
    inv_freq[i] = static_cast<float>(f);
  }
  return inv_freq;
}

}  // namespace brigade
