#pragma once
// The element-wise and per-row operations of the forward pass: plain
// functions over row-major f32 arrays. Each row is computed on its own, in
// one fixed order, so they are batch invariant by construction.

#include <cmath>
#include <vector>

namespace brigade::kernels {

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

}  // namespace brigade::kernels
