#include "model/weights.h"

#include <fmt/format.h>

#include "util/error.h"
#include "util/pages.h"

namespace brigade {

using kernels::Quant;
using kernels::WeightFormat;

WeightFormat compute_format(DType dtype, Quant quant) {
  switch (quant) {
    case Quant::kInt8:
      return WeightFormat::kInt8;
    case Quant::kInt4:
      return WeightFormat::kInt4;
    case Quant::kNone:
      break;
  }
  return kernels::stored_format(dtype);
}

kernels::WeightMatrix load_matrix(const Checkpoint& checkpoint, const std::string& name,
                                  int64_t out_dim, int64_t in_dim, Quant quant) {
  const TensorInfo& info = checkpoint.info(name, {out_dim, in_dim});
  const auto where = fmt::format("tensor '{}' of {}", name, checkpoint.dir().string());
  const WeightFormat stored = kernels::stored_format(info.dtype);
  checkpoint.require_finite(name);
  if (quant == Quant::kNone)
    return kernels::WeightMatrix::view(stored, checkpoint.bytes(name), static_cast<int>(out_dim),
                                       static_cast<int>(in_dim), where);
  // The stored pages go back as their rows are quantized (and the partial
  // pages between row groups at the end), so the process never holds both.
  auto m = kernels::WeightMatrix::quantize(compute_format(info.dtype, quant), stored,
                                           checkpoint.bytes(name), static_cast<int>(out_dim),
                                           static_cast<int>(in_dim), where, release_pages);
  checkpoint.release(name);
  return m;
}

}  // namespace brigade
