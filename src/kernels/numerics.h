#pragma once
// The numerics id a server announces: two processes with equal ids compute
// bitwise the same outputs from the same weights (DESIGN.md, "Determinism").

#include <string>

#include "kernels/format.h"

namespace brigade::kernels {

// Bumped whenever a kernel changes any result.
inline constexpr int kKernelVersion = 1;

// "k<version>/<numerics family of the active path>/<C library>/<format>",
// e.g. "k1/x86v3/glibc2.36/int4": softmax, SiLU and RoPE use the C
// library's expf, sin and cos, whose last bits may change between versions.
std::string numerics_id(WeightFormat format);

}  // namespace brigade::kernels
