#pragma once
// The formats a weight matrix is computed in, and the block layouts of the
// quantized ones.
//
// f32, bf16 and f16 are used exactly as the checkpoint stores them, straight
// from the memory map. int8 and int4 are made at load time ("--quant"):
// every row is cut into blocks of 32 weights with one f16 scale each, the
// layouts of ggml's Q8_0 (34 bytes per block) and Q4_0 (18 bytes per block),
// so that their sizes and accuracy compare one to one with llama.cpp's.

#include <cstddef>
#include <cstdint>
#include <string>

namespace brigade::kernels {

enum class WeightFormat { kF32, kBF16, kF16, kInt8, kInt4 };

// "f32" | "bf16" | "f16" | "int8" | "int4".
const char* format_name(WeightFormat format);
bool is_quantized(WeightFormat format);

// The load-time quantization a user asks for with --quant.
enum class Quant { kNone, kInt8, kInt4 };
Quant parse_quant(const std::string& name);  // "none" | "int8" | "int4"; Error otherwise
const char* quant_name(Quant quant);

inline constexpr int kBlock = 32;  // weights per quantization block

// int8: w[i] = d * q[i].
struct BlockQ8 {
  uint16_t d;  // f16 scale
  int8_t q[kBlock];
};
static_assert(sizeof(BlockQ8) == 34);

// int4: w[i] = d * (nibble[i] - 8); byte j holds weight j in its low nibble
// and weight j + 16 in its high nibble.
struct BlockQ4 {
  uint16_t d;  // f16 scale
  uint8_t q[kBlock / 2];
};
static_assert(sizeof(BlockQ4) == 18);

// An activation row quantized for the integer dot products of int8/int4
// weights: x[i] ~= d * q[i], one f32 scale per block. offset8[j] is
// 8 * (q[4j] + ... + q[4j+3]): int4 kernels multiply the unsigned nibbles
// (0..15) and subtract it, which gives exactly the sums of (nibble - 8) * q
// with one instruction less per block.
struct ActivationBlock {
  float d;
  int8_t q[kBlock];
  int32_t offset8[kBlock / 4];
};

// Bytes of one row of `in_dim` weights in `format`.
// REQUIRES: in_dim % kBlock == 0 for quantized formats.
size_t row_bytes(WeightFormat format, int in_dim);

// Quantizes one row of `n` floats (n % kBlock == 0) into n / kBlock blocks.
void quantize_row_q8(const float* x, BlockQ8* out, int n);
void quantize_row_q4(const float* x, BlockQ4* out, int n);
void quantize_activations(const float* x, ActivationBlock* out, int n);

// The 32 integer weights of block `b` of an int8/int4 row, into q; returns
// the block's scale (w[i] = scale * q[i]).
float unpack_block(WeightFormat format, const uint8_t* row, int b, int8_t* q);

// Widens one row stored in `format` to f32 (the exact values the kernels
// multiply with).
void dequantize_row(WeightFormat format, const void* row, float* out, int n);

}  // namespace brigade::kernels
