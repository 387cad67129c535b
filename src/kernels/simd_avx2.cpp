// The AVX2 + FMA + F16C kernels (compiled with those flags only; see
// src/CMakeLists.txt). Chosen at run time by kernel_table().
#if defined(__x86_64__)
#define BRIGADE_SIMD_TABLE avx2_table
#define BRIGADE_SIMD_ISA Isa::kAvx2
// 16 vector registers: tiles of 4 rows x 2 columns of accumulators.
#define BRIGADE_SIMD_PREFILL_COLUMNS 2
#include "kernels/simd_kernels.inc"
#else
#include "kernels/kernel_table.h"

// Not an x86-64 build: cpu.cpp never reports this path.
const brigade::kernels::KernelTable& brigade::kernels::avx2_table() { return portable_table(); }
#endif
