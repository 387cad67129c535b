#pragma once
// The numeric kernels of the forward pass, shared by the decoder blocks and
// the model head. Plain functions over row-major f32 arrays; the matrix
// products go through OpenBLAS.

#include <cmath>
#include <vector>

namespace brigade::kernels {

// out[rows, out_dim] = x[rows, in_dim] @ w[out_dim, in_dim]^T (w row-major as
// in HF). One row uses GEMV, more use GEMM.
void matmul(float* out, const float* x, const float* w, int rows, int out_dim, int in_dim);

// x[r, :] += bias for each of `rows` rows of bias.size() values.
void add_bias(float* x, const std::vector<float>& bias, int rows);

// RMSNorm of `rows` rows of weight.size() values: x / sqrt(mean(x^2) + eps) * weight.
void rmsnorm(float* out, const float* x, const std::vector<float>& weight, int rows, float eps);

// Rotary embedding of `heads` heads of `head_dim` values at `position`, HF
// "rotate_half" layout; inv_freq has head_dim / 2 entries.
void rope(float* vec, int heads, int head_dim, int position, const std::vector<float>& inv_freq);

// In-place softmax of n values.
void softmax(float* x, int n);

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

// One query head attending causally over cached positions [0, position].
// `keys`/`values` are [>= position + 1, head_dim]; `scores` holds position + 1 floats.
void attend(float* out, const float* q, const float* keys, const float* values, int position,
            int head_dim, float* scores);

}  // namespace brigade::kernels
