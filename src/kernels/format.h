#pragma once
// The formats a weight matrix is computed in, and the block layouts of the
// quantized ones.
//
// f32, bf16 and f16 are used exactly as the checkpoint stores them, straight
// from the memory map. int8 and int4 are made at load time ("--quant"):
// every row is cut into blocks of 32 weights with one f16 scale each, the
// quantization of ggml's Q8_0 and Q4_0 (same sizes, same values), so that
// their sizes and accuracy compare one to one with llama.cpp's; only the
// order of the bytes in a row differs (below).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.h"

namespace brigade::kernels {

class ThreadPool;

enum class WeightFormat { kF32, kBF16, kF16, kInt8, kInt4 };

// "f32" | "bf16" | "f16" | "int8" | "int4".
const char* format_name(WeightFormat format);
bool is_quantized(WeightFormat format);

// The format that computes with weights exactly as stored as `dtype`.
WeightFormat stored_format(DType dtype);
// The inverse for f32/bf16/f16; Error for a quantized format.
DType stored_dtype(WeightFormat format);

// The load-time quantization a user asks for with --quant.
enum class Quant { kNone, kInt8, kInt4 };
Quant parse_quant(const std::string& name);  // "none" | "int8" | "int4"; Error otherwise
const char* quant_name(Quant quant);

inline constexpr int kBlock = 32;  // weights per quantization block

// Rows of the quantized formats put all quantized weights first and the
// blocks' f16 scales after them, so that a kernel loads the scales of 8
// blocks with one instruction:
//   int8: n int8 values q, then n / 32 scales; w[i] = d[i / 32] * q[i].
//   int4: n / 2 bytes of 4-bit levels, then n / 32 scales;
//         w[i] = d[i / 32] * (level[i] - 8).
// int4 packs blocks in pairs: byte j of pair p (bytes 32p .. 32p + 31) holds
// weight j of block 2p in its low nibble and weight j of block 2p + 1 in its
// high nibble, so one 32-byte load, a mask and a shift give two whole blocks.
// An odd last block packs weight j and weight j + 16 in byte j.
// Sizes equal ggml's Q8_0 (34 bytes per block) and Q4_0 (18 bytes).

// Bytes of one row of `in_dim` weights in `format`.
// REQUIRES: in_dim % kBlock == 0 for quantized formats.
size_t row_bytes(WeightFormat format, int in_dim);

// Bytes before the scales in a quantized row.
size_t quant_bytes(WeightFormat format, int in_dim);

// Quantizes a row of `n` floats (n % kBlock == 0) into `row`
// (row_bytes(format, n) bytes). REQUIRES: format is int8 or int4.
void quantize_row(WeightFormat format, const float* x, uint8_t* row, int n);

// The 32 integer weights of block `b` of an int8/int4 row of `n` weights,
// into q; returns the block's scale (w[i] = scale * q[i]).
float unpack_block(WeightFormat format, const uint8_t* row, int n, int b, int8_t* q);

// Activation rows quantized for the integer dot products of int8/int4
// weights: x[i] ~= d[i / 32] * q[i], symmetric, one f32 scale per block.
// neg_sum4[j] = -(q[4j] + ... + q[4j + 3]): the kernels multiply unsigned
// weights (int4 levels 0..15; int8 q + 128) and start each block's integer
// sum from the matching multiple of it, which gives exactly the sums of the
// signed products with one instruction per block.
struct QuantizedActivations {
  int rows = 0, blocks = 0;
  std::vector<int8_t> q;          // [rows][blocks * 32]
  std::vector<float> d;           // [rows][blocks]
  std::vector<int32_t> neg_sum4;  // [rows][blocks * 8]

  // One function for every kernel path, so that every path sees the same
  // int8 values; rows are spread over `pool`. REQUIRES: in_dim % kBlock == 0.
  void quantize(const float* x, int rows, int in_dim, ThreadPool& pool);
};

// Widens one row stored in `format` to f32 (the exact values the kernels
// multiply with).
void dequantize_row(WeightFormat format, const void* row, float* out, int n);

}  // namespace brigade::kernels
