#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

namespace brigade::kernels {

void add_bias(float* x, const std::vector<float>& bias, int rows) {
  const size_t n = bias.size();
  for (int r = 0; r < rows; ++r)
    for (size_t i = 0; i < n; ++i) x[r * n + i] += bias[i];
}

// y = x / sqrt(mean(x^2) + eps) * weight, row by row (HF LlamaRMSNorm).
void rmsnorm(float* out, const float* x, const std::vector<float>& weight, int rows, float eps) {
  const size_t n = weight.size();
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = out + r * n;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]) * xr[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(sum / n + eps));
    for (size_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * weight[i];
  }
}

// Rotary position embedding in the HF "rotate_half" layout: dimension i is
// paired with i + head_dim/2 and rotated by position * inv_freq[i].
void rope(float* vec, int heads, int head_dim, int position, const std::vector<float>& inv_freq) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const double angle = static_cast<double>(position) * inv_freq[i];
    const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
    for (int h = 0; h < heads; ++h) {
      float* v = vec + h * head_dim;
      const float x0 = v[i], x1 = v[i + half];
      v[i] = x0 * c - x1 * s;
      v[i + half] = x1 * c + x0 * s;
    }
  }
}

void softmax(float* x, int n) {
  const float max = *std::max_element(x, x + n);
  float sum = 0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

}  // namespace brigade::kernels
