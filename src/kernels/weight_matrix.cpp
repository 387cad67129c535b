#include "kernels/weight_matrix.h"

#include <algorithm>

#include "kernels/thread_pool.h"
#include "kernels/weight_arena.h"
#include "util/error.h"

namespace brigade::kernels {

WeightMatrix WeightMatrix::view(WeightFormat format, std::span<const uint8_t> bytes, int out_dim,
                                int in_dim, const std::string& name) {
  require(!is_quantized(format), "{}: a view needs a stored format (f32, bf16, f16), not {}", name,
          format_name(format));
  WeightMatrix m;
  m.format_ = format;
  m.out_dim_ = out_dim;
  m.in_dim_ = in_dim;
  m.row_stride_ = row_bytes(format, in_dim);
  require(bytes.size() == m.bytes(), "{}: {} bytes for a {} x {} {} matrix", name, bytes.size(),
          out_dim, in_dim, format_name(format));
  m.data_ = bytes.data();
  return m;
}

WeightMatrix WeightMatrix::quantize(
    WeightFormat target, WeightFormat stored, std::span<const uint8_t> bytes, int out_dim,
    int in_dim, const std::string& name,
    const std::function<void(std::span<const uint8_t>)>& done_with) {
  require(is_quantized(target), "{}: cannot quantize to {}", name, format_name(target));
  require(in_dim % kBlock == 0,
          "{}: cannot quantize to {}: its {} input features are not a multiple of the {}-weight "
          "block",
          name, format_name(target), in_dim, kBlock);
  const WeightMatrix source = view(stored, bytes, out_dim, in_dim, name);
  WeightMatrix m;
  m.format_ = target;
  m.out_dim_ = out_dim;
  m.in_dim_ = in_dim;
  m.row_stride_ = row_bytes(target, in_dim);
  m.owned_ = WeightArena::global().allocate(m.bytes());
  m.data_ = m.owned_.get();
  // Rows are independent: spread them over the pool (loading a 7B model
  // quantizes billions of weights).
  constexpr int kRowsPerTask = 64;
  ThreadPool::global().run((out_dim + kRowsPerTask - 1) / kRowsPerTask, [&](int task) {
    std::vector<float> row(in_dim);
    const int first = task * kRowsPerTask, last = std::min(out_dim, (task + 1) * kRowsPerTask);
    for (int r = first; r < last; ++r) {
      source.row_f32(r, row.data());
      uint8_t* dst = m.owned_.get() + static_cast<size_t>(r) * m.row_stride_;
      quantize_row(target, row.data(), dst, in_dim);
    }
    if (done_with) {
      const size_t stored_row = row_bytes(stored, in_dim);
      done_with(bytes.subspan(first * stored_row, (last - first) * stored_row));
    }
  });
  return m;
}

void WeightMatrix::row_f32(int r, float* out) const {
  dequantize_row(format_, data_ + static_cast<size_t>(r) * row_stride_, out, in_dim_);
}

}  // namespace brigade::kernels
