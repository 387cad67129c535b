#pragma once
// The per-ISA kernels behind linear() and attention(), as a table of plain
// functions. Each path (portable.cpp, simd_avx2.cpp, simd_avx512.cpp) fills
// one table; the callers pick a table with kernel_table(active_isa()).
//
// The reduction order is the contract (docs/architecture.md, "Determinism"):
// output element (r, c) is the dot product of activation row r and weight row
// c accumulated over 8 lanes, lane l taking k = l, l + 8, ... in increasing
// k, then the lanes summed in one fixed tree, then any k past the last full
// group of 8 added in order. For int8/int4 weights, per block of 32 lane l
// takes the exact integer sum of q*x over k = 4l..4l+3 and adds it with one
// fused multiply-add, acc_l = fma(float(isum_l), dw * dx, acc_l); the lanes
// are then summed by the same tree. How a path computes the exact integer
// sums is its own business.
// Nothing depends on the number of rows, on the columns a call covers or on
// threads: that is what makes prefill equal to decode, bitwise.

#include <cstddef>
#include <cstdint>

#include "kernels/cpu.h"
#include "kernels/format.h"

namespace brigade::kernels {

struct LinearArgs {
  const float* x = nullptr;                  // [rows, in_dim], for f32/bf16/f16 weights
  const QuantizedActivations* xq = nullptr;  // the rows of x, for int8/int4 weights
  const uint8_t* w = nullptr;                // weight row c starts at w + c * w_stride
  size_t w_stride = 0;
  float* out = nullptr;  // out[r * out_stride + c]
  int out_stride = 0;
  int rows = 0, in_dim = 0;
};

// Computes the output columns [col_begin, col_end) for every row.
using LinearFn = void (*)(const LinearArgs& args, int col_begin, int col_end);

struct KernelTable {
  Isa isa;
  LinearFn linear[5];  // indexed by WeightFormat
  // Sum of a[i] * b[i], in the order of the contract above.
  float (*dot)(const float* a, const float* b, int n);
  // y[i] += a * x[i].
  void (*axpy)(float* y, float a, const float* x, int n);
};

const KernelTable& kernel_table(Isa isa);

// One table per path, defined in the path's own file.
const KernelTable& portable_table();
const KernelTable& avx2_table();
const KernelTable& avx512_table();

}  // namespace brigade::kernels
