#include "model/kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace brigade::kernels {

// out[rows, out_dim] = x[rows, in_dim] @ w[out_dim, in_dim]^T. A single row is
// a GEMV, which streams the weights once and is bound by memory bandwidth.
void matmul(float* out, const float* x, const float* w, int rows, int out_dim, int in_dim) {
  if (rows == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, out_dim, in_dim, 1.0f, w, in_dim, x, 1, 0.0f, out, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out_dim, in_dim, 1.0f, x, in_dim, w,
                in_dim, 0.0f, out, out_dim);
  }
}

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

// Causal attention of one query head at `position` over cached positions
// [0, position]: out = softmax(q . K^T / sqrt(head_dim)) V.
void attend(float* out, const float* q, const float* keys, const float* values, int position,
            int head_dim, float* scores) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int length = position + 1;
  // scores = scale * K q. Through BLAS because a plain float dot-product loop
  // does not vectorize (reassociation), which makes long prompts slow.
  cblas_sgemv(CblasRowMajor, CblasNoTrans, length, head_dim, scale, keys, head_dim, q, 1, 0.0f,
              scores, 1);
  softmax(scores, length);
  std::fill(out, out + head_dim, 0.0f);
  for (int s = 0; s < length; ++s) {
    const float* v = values + static_cast<size_t>(s) * head_dim;
    const float p = scores[s];
    for (int i = 0; i < head_dim; ++i) out[i] += p * v[i];
  }
}

}  // namespace brigade::kernels
