#pragma once
// Rotary position embedding frequencies, as transformers' ROPE_INIT_FUNCTIONS
// compute them for the rope types Brigade implements. The rotation itself is
// kernels::rope; this is where a config's rope_theta and rope_scaling become
// the angle per position of each pair of a head.

#include <vector>

#include "model/config.h"

namespace brigade {

// inv_freq[i] for i < head_dim / 2: the angle per position of the pair
// (i, i + head_dim / 2). Default: rope_theta^(-2i / head_dim). "linear"
// divides every frequency by factor (positions / factor). "llama3" divides the
// low frequencies (wavelength > original_max_position_embeddings /
// low_freq_factor) by factor, keeps the high ones (wavelength <
// original / high_freq_factor) and interpolates smoothly in between, exactly
// as _compute_llama3_parameters. Both scalings leave the attention factor at 1
// (cos and sin are not rescaled), so there is none to return.
// Computed in double and rounded once to float.
std::vector<float> rope_inv_freq(const ModelConfig& config);

}  // namespace brigade
