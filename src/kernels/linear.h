#pragma once
// Linear layers on Brigade's own kernels: out = x @ W^T for a weight matrix
// in any WeightFormat, on the process's thread pool and the CPU's best path
// (kernel_table.h). The result of each output element does not depend on the
// number of rows, on the other matrices of the call or on the thread count.

#include <span>

#include "kernels/weight_matrix.h"

namespace brigade::kernels {

// One matrix of a linear_many() call and where its output goes:
// out[rows, w->out_dim()].
struct LinearOutput {
  const WeightMatrix* w;
  float* out;
};

// out[rows, w.out_dim()] = x[rows, w.in_dim()] @ w^T.
void linear(const float* x, int rows, const WeightMatrix& w, float* out);

// Several matrices that read the same input (q/k/v, gate/up) in one job of
// the pool, quantizing the input once when some are int8/int4.
// REQUIRES: every matrix has the same in_dim.
void linear_many(const float* x, int rows, std::span<const LinearOutput> outputs);

}  // namespace brigade::kernels
