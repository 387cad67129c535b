#include "kernels/numerics.h"

#include <fmt/format.h>

#include "kernels/cpu.h"

namespace brigade::kernels {

std::string numerics_id(WeightFormat format) {
  return fmt::format("k{}/{}/{}", kKernelVersion, numerics_family(active_isa()),
                     format_name(format));
}

}  // namespace brigade::kernels
