#include "kernels/numerics.h"

#include <fmt/format.h>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#include "kernels/cpu.h"

namespace brigade::kernels {

namespace {

std::string libc_name() {
#if defined(__GLIBC__)
  return std::string("glibc") + gnu_get_libc_version();
#else
  return "libc";
#endif
}

}  // namespace

std::string numerics_id(WeightFormat format) {
  return fmt::format("k{}/{}/{}/{}", kKernelVersion, numerics_family(active_isa()), libc_name(),
                     format_name(format));
}

}  // namespace brigade::kernels
