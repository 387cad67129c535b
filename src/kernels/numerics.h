#pragma once
// The numerics id a server announces: two processes with equal ids compute
// bitwise the same outputs from the same weights (DESIGN.md, "Determinism").

#include <string>

#include "kernels/format.h"

namespace brigade::kernels {

// Bumped whenever a kernel changes any result.
inline constexpr int kKernelVersion = 1;

// "k<version>/<numerics family of the active path>/<format>", e.g. "k1/x86v3/int4".
std::string numerics_id(WeightFormat format);

}  // namespace brigade::kernels
