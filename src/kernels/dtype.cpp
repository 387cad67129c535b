#include "kernels/dtype.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

#include "kernels/half.h"
#include "util/error.h"

namespace brigade {

namespace {

struct Spellings {
  DType dtype;
  const char* name;        // safetensors
  const char* short_name;  // flags, wire
  const char* torch_name;  // config.json
  size_t size;
};

constexpr Spellings kDTypes[] = {
    {DType::F32, "F32", "f32", "float32", 4},
    {DType::F16, "F16", "f16", "float16", 2},
    {DType::BF16, "BF16", "bf16", "bfloat16", 2},
};

const Spellings& spellings(DType dtype) {
  for (const auto& s : kDTypes)
    if (s.dtype == dtype) return s;
  fail("invalid DType {}", static_cast<int>(dtype));
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

const char* dtype_name(DType dtype) { return spellings(dtype).name; }
const char* dtype_short_name(DType dtype) { return spellings(dtype).short_name; }
const char* torch_dtype_name(DType dtype) { return spellings(dtype).torch_name; }
size_t dtype_size(DType dtype) { return spellings(dtype).size; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& s : kDTypes)
    if (name == s.name) return s.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_short_name(std::string_view name) {
  for (const auto& s : kDTypes)
    if (name == s.short_name) return s.dtype;
  return std::nullopt;
}

DType parse_dtype(const std::string& name) {
  const std::string u = upper(name);
  for (const auto& s : kDTypes)
    if (u == s.name || u == upper(s.torch_name)) return s.dtype;
  fail("unsupported dtype '{}' (supported: f32, f16, bf16)", name);
}

void dtype_to_f32(DType dtype, const void* src, float* out, size_t count) {
  if (count == 0) return;
  const auto* bytes = static_cast<const uint8_t*>(src);
  if (dtype == DType::F32) {
    std::memcpy(out, bytes, count * 4);
    return;
  }
  const bool bf16 = dtype == DType::BF16;
  for (size_t i = 0; i < count; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);  // checkpoint offsets need not be aligned
    out[i] = bf16 ? bf16_to_f32(h) : f16_to_f32(h);
  }
}

void f32_to_dtype(DType dtype, const float* src, void* out, size_t count) {
  if (count == 0) return;
  auto* bytes = static_cast<uint8_t*>(out);
  if (dtype == DType::F32) {
    std::memcpy(bytes, src, count * 4);
    return;
  }
  const bool bf16 = dtype == DType::BF16;
  for (size_t i = 0; i < count; ++i) {
    const uint16_t h = bf16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
    std::memcpy(bytes + 2 * i, &h, 2);
  }
}

namespace {

// The first index whose exponent field (the bits of `mask`) is all ones.
template <class Bits>
size_t first_all_ones(const uint8_t* src, size_t count, Bits mask) {
  // Blocks of 256 values: a branch-free OR of "is it all ones" per block,
  // then the exact index only in a block that has one.
  constexpr size_t kBlock = 256;
  for (size_t begin = 0; begin < count; begin += kBlock) {
    const size_t end = std::min(count, begin + kBlock);
    bool any = false;
    for (size_t i = begin; i < end; ++i) {
      Bits v;
      std::memcpy(&v, src + i * sizeof(Bits), sizeof(Bits));
      any |= (v & mask) == mask;
    }
    if (!any) continue;
    for (size_t i = begin; i < end; ++i) {
      Bits v;
      std::memcpy(&v, src + i * sizeof(Bits), sizeof(Bits));
      if ((v & mask) == mask) return i;
    }
  }
  return count;
}

}  // namespace

size_t first_non_finite(DType dtype, const void* src, size_t count) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (dtype) {
    case DType::F32:
      return first_all_ones<uint32_t>(bytes, count, 0x7F800000u);
    case DType::BF16:
      return first_all_ones<uint16_t>(bytes, count, 0x7F80u);
    case DType::F16:
      return first_all_ones<uint16_t>(bytes, count, 0x7C00u);
  }
  return count;
}

}  // namespace brigade
