#pragma once
// Which instruction-set path the kernels run on. The binary is built for any
// x86-64; the SIMD kernels live in files compiled with their own flags and are
// chosen here at run time from what the CPU reports, so one binary runs on
// every machine of a swarm and uses what each one has.

#include <string>
#include <vector>

namespace brigade::kernels {

enum class Isa {
  kPortable,  // plain C++, any CPU
  kAvx2,      // AVX2 + FMA + F16C (x86-64-v3)
  kAvx512,    // the AVX2 kernels re-encoded with AVX-512VL, VNNI for int8 dot products
};

const char* isa_name(Isa isa);

// The paths this CPU can run, portable first.
std::vector<Isa> supported_isas();

// The path kernels use: the best supported one, or the one named by the
// environment variable BRIGADE_ISA (portable|avx2|avx512; an unsupported or
// unknown name is an Error naming it). Decided once per process.
Isa active_isa();

// Makes `isa` the active path from now on, for tests that run one model on
// every path of the machine. REQUIRES (checked): the CPU supports it.
void force_isa(Isa isa);

// The numerics family of a path: paths of one family give bitwise the same
// results (their integer sums are exact and their float operations are the
// same sequence on the same 8-lane layout); a test checks this.
const char* numerics_family(Isa isa);

}  // namespace brigade::kernels
