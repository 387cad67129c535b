#include "kernels/format.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/half.h"
#include "kernels/thread_pool.h"
#include "util/error.h"

namespace brigade::kernels {

const char* format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32:
      return "f32";
    case WeightFormat::kBF16:
      return "bf16";
    case WeightFormat::kF16:
      return "f16";
    case WeightFormat::kInt8:
      return "int8";
    case WeightFormat::kInt4:
      return "int4";
  }
  return "?";
}

bool is_quantized(WeightFormat format) {
  return format == WeightFormat::kInt8 || format == WeightFormat::kInt4;
}

WeightFormat stored_format(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return WeightFormat::kF32;
    case DType::BF16:
      return WeightFormat::kBF16;
    case DType::F16:
      return WeightFormat::kF16;
  }
  return WeightFormat::kF32;
}

Quant parse_quant(const std::string& name) {
  if (name == "none") return Quant::kNone;
  if (name == "int8") return Quant::kInt8;
  if (name == "int4") return Quant::kInt4;
  fail("unknown --quant '{}' (none, int8 or int4)", name);
}

const char* quant_name(Quant quant) {
  switch (quant) {
    case Quant::kNone:
      return "none";
    case Quant::kInt8:
      return "int8";
    case Quant::kInt4:
      return "int4";
  }
  return "?";
}

size_t row_bytes(WeightFormat format, int in_dim) {
  switch (format) {
    case WeightFormat::kF32:
      return static_cast<size_t>(in_dim) * 4;
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      return static_cast<size_t>(in_dim) * 2;
    case WeightFormat::kInt8:
    case WeightFormat::kInt4:
      return quant_bytes(format, in_dim) + static_cast<size_t>(in_dim / kBlock) * 2;
  }
  return 0;
}

// The stored type of a float format (the inverse of stored_format).
DType stored_dtype(WeightFormat format) {
  require(!is_quantized(format), "{} is not a stored format", format_name(format));
  return format == WeightFormat::kF32    ? DType::F32
         : format == WeightFormat::kBF16 ? DType::BF16
                                         : DType::F16;
}

size_t quant_bytes(WeightFormat format, int in_dim) {
  return format == WeightFormat::kInt8 ? static_cast<size_t>(in_dim)
                                       : static_cast<size_t>(in_dim) / 2;
}

namespace {

// 1 / d for a block scale, or 0 when d is 0 or so small that 1 / d is not
// finite (the block then quantizes to zeros).
float inverse_scale(float d) {
  const float inv = d != 0 ? 1.0f / d : 0.0f;
  return std::isfinite(inv) ? inv : 0.0f;
}

// v rounded half away from zero and clamped to [lo, hi]; NaN gives 0. By
// hand rather than through libm: on the path of every int8/int4 product, and
// a float-to-int conversion of a value out of range would be undefined.
int round_clamped(float v, int lo, int hi) {
  if (!(v == v)) return 0;
  if (v <= static_cast<float>(lo)) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v + (v >= 0 ? 0.5f : -0.5f));
}

// Whether int4 block b of a row of `blocks` shares its 32 bytes with a
// neighbour (every block but an odd last one).
bool in_pair(int b, int blocks) { return b % 2 == 1 || b + 1 < blocks; }

float max_abs(const float* x) {
  float amax = 0;
  for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
  return amax;
}

// Symmetric: the largest magnitude maps to 127.
float quantize_block_q8(const float* x, int8_t* q) {
  const float d = max_abs(x) / 127.0f;
  const float inv = inverse_scale(d);
  for (int i = 0; i < kBlock; ++i) q[i] = static_cast<int8_t>(round_clamped(x[i] * inv, -127, 127));
  return d;
}

// The value of largest magnitude maps to -8 exactly (so its sign picks the
// scale's sign), which uses all 16 levels; the rest round to nearest. Levels
// are round(v / d) + 8, in [0, 15].
float quantize_block_q4(const float* x, uint8_t* levels) {
  float extreme = 0;
  for (int i = 0; i < kBlock; ++i)
    if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
  const float d = extreme / -8.0f;
  const float inv = inverse_scale(d);
  for (int i = 0; i < kBlock; ++i)
    levels[i] = static_cast<uint8_t>(round_clamped(x[i] * inv, -8, 7) + 8);
  return d;
}

}  // namespace

void quantize_row(WeightFormat format, const float* x, uint8_t* row, int n) {
  require(is_quantized(format), "quantize_row: {} is not a quantized format", format_name(format));
  const int blocks = n / kBlock;
  uint8_t* scales = row + quant_bytes(format, n);
  for (int b = 0; b < blocks; ++b) {
    float d;
    if (format == WeightFormat::kInt8) {
      d = quantize_block_q8(x + b * kBlock, reinterpret_cast<int8_t*>(row) + b * kBlock);
    } else {
      uint8_t levels[kBlock];
      d = quantize_block_q4(x + b * kBlock, levels);
      uint8_t* pair = row + (b / 2) * kBlock;
      if (!in_pair(b, blocks)) {
        for (int j = 0; j < kBlock / 2; ++j)
          pair[j] = static_cast<uint8_t>(levels[j] | (levels[j + kBlock / 2] << 4));
      } else if (b % 2 == 1) {
        for (int j = 0; j < kBlock; ++j) pair[j] |= static_cast<uint8_t>(levels[j] << 4);
      } else {
        for (int j = 0; j < kBlock; ++j) pair[j] = levels[j];
      }
    }
    const uint16_t h = f32_to_f16(d);
    std::memcpy(scales + 2 * b, &h, 2);
  }
}

void QuantizedActivations::quantize(const float* x, int rows_, int in_dim, ThreadPool& pool) {
  rows = rows_;
  blocks = in_dim / kBlock;
  const size_t total = static_cast<size_t>(rows) * blocks;
  q.resize(total * kBlock);
  d.resize(total);
  neg_sum4.resize(total * (kBlock / 4));
  pool.run_rows(rows, [&](int begin, int end) {
    for (size_t b = static_cast<size_t>(begin) * blocks; b < static_cast<size_t>(end) * blocks;
         ++b) {
      int8_t* qb = &q[b * kBlock];
      d[b] = quantize_block_q8(x + b * kBlock, qb);
      for (int j = 0; j < kBlock / 4; ++j)
        neg_sum4[b * (kBlock / 4) + j] =
            -(qb[4 * j] + qb[4 * j + 1] + qb[4 * j + 2] + qb[4 * j + 3]);
    }
  });
}

float unpack_block(WeightFormat format, const uint8_t* row, int n, int b, int8_t* q) {
  uint16_t d;
  std::memcpy(&d, row + quant_bytes(format, n) + 2 * b, 2);
  if (format == WeightFormat::kInt8) {
    std::memcpy(q, row + static_cast<size_t>(b) * kBlock, kBlock);
  } else if (in_pair(b, n / kBlock)) {
    const uint8_t* pair = row + static_cast<size_t>(b / 2) * kBlock;
    const int shift = b % 2 == 1 ? 4 : 0;
    for (int j = 0; j < kBlock; ++j) q[j] = static_cast<int8_t>(((pair[j] >> shift) & 0x0F) - 8);
  } else {  // an odd last block
    const uint8_t* block = row + static_cast<size_t>(b / 2) * kBlock;
    for (int j = 0; j < kBlock / 2; ++j) {
      q[j] = static_cast<int8_t>((block[j] & 0x0F) - 8);
      q[j + kBlock / 2] = static_cast<int8_t>((block[j] >> 4) - 8);
    }
  }
  return f16_to_f32(d);
}

void dequantize_row(WeightFormat format, const void* row, float* out, int n) {
  const auto* bytes = static_cast<const uint8_t*>(row);
  switch (format) {
    case WeightFormat::kF32:
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      dtype_to_f32(stored_dtype(format), bytes, out, static_cast<size_t>(n));
      return;
    case WeightFormat::kInt8:
    case WeightFormat::kInt4:
      for (int b = 0; b < n / kBlock; ++b) {
        int8_t q[kBlock];
        const float d = unpack_block(format, bytes, n, b, q);
        for (int i = 0; i < kBlock; ++i) out[b * kBlock + i] = d * q[i];
      }
      return;
  }
}

}  // namespace brigade::kernels
