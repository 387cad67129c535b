#pragma once
// A weight matrix [out_dim, in_dim] (row-major, rows are output features, as
// Hugging Face stores linear layers) in one WeightFormat.
//
// f32/bf16/f16 matrices are views of the checkpoint's memory map: no copy,
// the page cache holds the only copy. int8/int4 matrices own their blocks in
// anonymous memory (WeightArena), quantized at load time from the stored
// values.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/format.h"

namespace brigade::kernels {

class WeightMatrix {
 public:
  WeightMatrix() = default;

  // A view of `bytes` stored as `format` (f32, bf16 or f16); the bytes must
  // outlive the matrix. REQUIRES (checked): bytes.size() == out_dim * in_dim * element size.
  static WeightMatrix view(WeightFormat format, std::span<const uint8_t> bytes, int out_dim,
                           int in_dim, const std::string& name);

  // Quantizes a stored matrix (f32, bf16 or f16 bytes) to int8 or int4, on
  // the thread pool. `done_with` (optional) is told each range of `bytes`
  // once its rows are quantized, so the caller can give those pages back
  // while the rest is still being read: the process never holds both copies.
  // Throws Error naming `name` when in_dim is not a multiple of 32.
  static WeightMatrix quantize(WeightFormat target, WeightFormat stored,
                               std::span<const uint8_t> bytes, int out_dim, int in_dim,
                               const std::string& name,
                               const std::function<void(std::span<const uint8_t>)>& done_with = {});

  WeightFormat format() const { return format_; }
  int out_dim() const { return out_dim_; }
  int in_dim() const { return in_dim_; }
  size_t row_stride() const { return row_stride_; }
  const uint8_t* data() const { return data_; }
  size_t bytes() const { return row_stride_ * static_cast<size_t>(out_dim_); }

  // Row r widened to f32: the exact values the kernels multiply with.
  void row_f32(int r, float* out) const;

 private:
  WeightFormat format_ = WeightFormat::kF32;
  int out_dim_ = 0, in_dim_ = 0;
  size_t row_stride_ = 0;
  const uint8_t* data_ = nullptr;
  std::shared_ptr<uint8_t> owned_;  // quantized blocks, in the WeightArena
};

}  // namespace brigade::kernels
