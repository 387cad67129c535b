#include "kernels/cpu.h"

#include <cstdlib>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <string>

#include "util/error.h"

namespace brigade::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kPortable:
      return "portable";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas = {Isa::kPortable};
#if defined(__x86_64__)
  __builtin_cpu_init();
  // F16C (CPUID leaf 1, ECX bit 29) and VNNI (leaf 7, ECX bit 11) straight
  // from CPUID: not every compiler's __builtin_cpu_supports knows their
  // names. The avx2 and avx512f checks also cover the OS saving the registers.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  const bool vnni = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 11)) != 0;
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  if (avx2) isas.push_back(Isa::kAvx2);
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && vnni)
    isas.push_back(Isa::kAvx512);
#endif
  return isas;
}

namespace {

Isa choose_isa() {
  const auto isas = supported_isas();
  const char* forced = std::getenv("BRIGADE_ISA");
  if (forced == nullptr || *forced == '\0') return isas.back();
  for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512}) {
    if (std::string(forced) != isa_name(isa)) continue;
    for (Isa ok : isas)
      if (ok == isa) return isa;
    fail("BRIGADE_ISA={}: this CPU does not support that path", forced);
  }
  fail("BRIGADE_ISA={}: unknown path (portable, avx2 or avx512)", forced);
}

Isa& active_isa_slot() {
  static Isa isa = choose_isa();
  return isa;
}

}  // namespace

Isa active_isa() { return active_isa_slot(); }

void force_isa(Isa isa) {
  for (Isa ok : supported_isas()) {
    if (ok != isa) continue;
    active_isa_slot() = isa;
    return;
  }
  fail("force_isa: this CPU does not support the {} path", isa_name(isa));
}

const char* numerics_family(Isa isa) { return isa == Isa::kPortable ? "portable" : "x86v3"; }

}  // namespace brigade::kernels
