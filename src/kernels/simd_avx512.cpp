// The AVX2 kernels built with AVX-512VL/BW and VNNI as well (see
// src/CMakeLists.txt): the int8 dot products become one vpdpbusd, the float
// sequence stays the AVX2 one. Chosen at run time by kernel_table().
#if defined(__x86_64__)
#define BRIGADE_SIMD_TABLE avx512_table
#define BRIGADE_SIMD_ISA Isa::kAvx512
// 32 vector registers: tiles of 4 rows x 4 columns of accumulators
// (prefill measured 15-20% faster than with 4 x 2).
#define BRIGADE_SIMD_PREFILL_COLUMNS 4

#include "kernels/simd_kernels.inc"
#else
#include "kernels/kernel_table.h"

// Not an x86-64 build: cpu.cpp never reports this path.
const brigade::kernels::KernelTable& brigade::kernels::avx512_table() { return portable_table(); }
#endif
