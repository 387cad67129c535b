#include "kernels/format.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/half.h"
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
      return static_cast<size_t>(in_dim / kBlock) * sizeof(BlockQ8);
    case WeightFormat::kInt4:
      return static_cast<size_t>(in_dim / kBlock) * sizeof(BlockQ4);
  }
  return 0;
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

float max_abs(const float* x) {
  float amax = 0;
  for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
  return amax;
}

}  // namespace

// Symmetric: the largest magnitude maps to 127.
void quantize_row_q8(const float* x, BlockQ8* out, int n) {
  for (int b = 0; b < n / kBlock; ++b, x += kBlock) {
    const float d = max_abs(x) / 127.0f;
    const float inv = inverse_scale(d);
    out[b].d = f32_to_f16(d);
    for (int i = 0; i < kBlock; ++i)
      out[b].q[i] = static_cast<int8_t>(round_clamped(x[i] * inv, -127, 127));
  }
}

// The value of largest magnitude maps to -8 exactly (so its sign picks the
// scale's sign), which uses all 16 levels; the rest round to nearest.
void quantize_row_q4(const float* x, BlockQ4* out, int n) {
  for (int b = 0; b < n / kBlock; ++b, x += kBlock) {
    float extreme = 0;
    for (int i = 0; i < kBlock; ++i)
      if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
    const float d = extreme / -8.0f;
    const float inv = inverse_scale(d);
    out[b].d = f32_to_f16(d);
    for (int j = 0; j < kBlock / 2; ++j) {
      // Level = round(v / d) + 8, in [0, 15].
      const auto level = [&](float v) {
        return static_cast<uint8_t>(round_clamped(v * inv, -8, 7) + 8);
      };
      out[b].q[j] = static_cast<uint8_t>(level(x[j]) | (level(x[j + kBlock / 2]) << 4));
    }
  }
}

// One function quantizes activations for every kernel path, so every path
// sees the same int8 values.
void quantize_activations(const float* x, ActivationBlock* out, int n) {
  for (int b = 0; b < n / kBlock; ++b, x += kBlock) {
    const float d = max_abs(x) / 127.0f;
    const float inv = inverse_scale(d);
    out[b].d = d;
    for (int i = 0; i < kBlock; ++i)
      out[b].q[i] = static_cast<int8_t>(round_clamped(x[i] * inv, -127, 127));
    for (int j = 0; j < kBlock / 4; ++j)
      out[b].offset8[j] =
          8 * (out[b].q[4 * j] + out[b].q[4 * j + 1] + out[b].q[4 * j + 2] + out[b].q[4 * j + 3]);
  }
}

float unpack_block(WeightFormat format, const uint8_t* row, int b, int8_t* q) {
  uint16_t d;
  if (format == WeightFormat::kInt8) {
    const uint8_t* block = row + static_cast<size_t>(b) * sizeof(BlockQ8);
    std::memcpy(&d, block, 2);
    std::memcpy(q, block + 2, kBlock);
  } else {
    const uint8_t* block = row + static_cast<size_t>(b) * sizeof(BlockQ4);
    std::memcpy(&d, block, 2);
    for (int j = 0; j < kBlock / 2; ++j) {
      q[j] = static_cast<int8_t>((block[2 + j] & 0x0F) - 8);
      q[j + kBlock / 2] = static_cast<int8_t>((block[2 + j] >> 4) - 8);
    }
  }
  return f16_to_f32(d);
}

void dequantize_row(WeightFormat format, const void* row, float* out, int n) {
  const auto* bytes = static_cast<const uint8_t*>(row);
  switch (format) {
    case WeightFormat::kF32:
      std::memcpy(out, bytes, static_cast<size_t>(n) * 4);
      return;
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      for (int i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        out[i] = format == WeightFormat::kBF16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      return;
    case WeightFormat::kInt8:
    case WeightFormat::kInt4:
      for (int b = 0; b < n / kBlock; ++b) {
        int8_t q[kBlock];
        const float d = unpack_block(format, bytes, b, q);
        for (int i = 0; i < kBlock; ++i) out[b * kBlock + i] = d * q[i];
      }
      return;
  }
}

}  // namespace brigade::kernels
