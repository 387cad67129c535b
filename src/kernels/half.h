#pragma once
// f32 <-> bf16 / f16 conversions, round to nearest even, NaN kept NaN. Shared
// by the checkpoint loader, the kernels and the wire codec.

#include <cstdint>

namespace brigade {

uint16_t f32_to_bf16(float value);
float bf16_to_f32(uint16_t value);
uint16_t f32_to_f16(float value);
float f16_to_f32(uint16_t value);

}  // namespace brigade
