// The AVX2 kernels built with AVX-512VL/BW and VNNI as well (see
// src/CMakeLists.txt): the int8 dot products become one vpdpbusd, and
// multi-row tiles pair weight columns in 512-bit registers; the float
// sequence of every output stays the AVX2 one. Chosen at run time by
// kernel_table().
#if defined(__x86_64__)
#define BRIGADE_SIMD_TABLE avx512_table
#define BRIGADE_SIMD_ISA Isa::kAvx512
// 32 vector registers: tiles of 4 rows x 4 column pairs of accumulators
// (int4/int8 prefill measured 7-40% faster than with 4 x 2 pairs).
#define BRIGADE_SIMD_PREFILL_COLUMNS 8

#include "kernels/simd_kernels.inc"
#else
#include "kernels/kernel_table.h"

// Not an x86-64 build: cpu.cpp never reports this path.
const brigade::kernels::KernelTable& brigade::kernels::avx512_table() { return portable_table(); }
#endif
