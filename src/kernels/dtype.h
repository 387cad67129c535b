#pragma once
// The element types tensors are stored and sent in, and everything that
// spells, sizes or converts them: one vocabulary for the checkpoint reader and
// writer, make-model, the engine's flags and the wire codec. The wire's
// rpc::WireDType is converted to and from DType only in net/tensor_codec, the
// kernels' WeightFormat only in kernels/format.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace brigade {

enum class DType { F32, F16, BF16 };

// "F32" | "F16" | "BF16": as safetensors headers spell them (manifests hash
// this spelling, so it must not change).
const char* dtype_name(DType dtype);
// "f32" | "f16" | "bf16": as flags and the wire's error messages spell them.
const char* dtype_short_name(DType dtype);
// "float32" | "float16" | "bfloat16": config.json's torch_dtype.
const char* torch_dtype_name(DType dtype);
// Bytes per element: 4 or 2.
size_t dtype_size(DType dtype);

// The dtype whose dtype_name() is exactly `name`; nullopt for any other name
// (a safetensors file may hold I64, F64, ...).
std::optional<DType> dtype_from_name(std::string_view name);
// The dtype whose dtype_short_name() is exactly `name`; nullopt otherwise.
std::optional<DType> dtype_from_short_name(std::string_view name);
// A dtype as a user writes it: any of the spellings above, in any case
// ("bf16", "BF16", "bfloat16"). Throws Error "unsupported dtype '<name>'"
// otherwise.
DType parse_dtype(const std::string& name);

// The index of the first NaN or infinity among `count` values stored as
// `dtype` (little endian, at any alignment); `count` when all are finite.
// Reads the exponent bits only, so it runs at memory speed.
size_t first_non_finite(DType dtype, const void* src, size_t count);

// Converts `count` values stored as `dtype` (little endian, at any alignment)
// to f32.
void dtype_to_f32(DType dtype, const void* src, float* out, size_t count);
// Converts `count` f32 values to `dtype` (round to nearest even, NaN kept
// NaN) into `out`, count * dtype_size(dtype) bytes at any alignment.
void f32_to_dtype(DType dtype, const float* src, void* out, size_t count);

}  // namespace brigade
