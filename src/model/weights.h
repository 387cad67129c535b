#pragma once
// Loading the weights of linear layers in the format they compute with: the
// stored bytes themselves (f32, bf16, f16 from the memory map) or, with a
// quantization asked for at load, int8/int4 blocks, after which the stored
// pages are given back. Shared by the block spans and the model head.

#include <cstdint>
#include <string>

#include "kernels/format.h"
#include "kernels/weight_matrix.h"
#include "model/checkpoint.h"

namespace brigade {

// The format a tensor stored as `dtype` computes with under `quant`.
kernels::WeightFormat compute_format(DType dtype, kernels::Quant quant);

// The [out_dim, in_dim] linear weight `name`. Throws Error naming the tensor
// when it is missing or misshapen, or cannot be quantized (in_dim % 32 != 0).
// A view keeps pointing into `checkpoint`'s mapping: the caller keeps the
// checkpoint alive as long as the matrix.
kernels::WeightMatrix load_matrix(const Checkpoint& checkpoint, const std::string& name,
                                  int64_t out_dim, int64_t in_dim, kernels::Quant quant);

}  // namespace brigade
