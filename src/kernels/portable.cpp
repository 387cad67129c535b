// The portable kernels: plain C++ for any CPU, following the lane contract of
// kernel_table.h operation for operation (fused multiply-adds through fmaf,
// the same lane tree), so that they double as an independent check of the
// SIMD paths: a test compares them bitwise.

#include <cstring>

#include "kernels/half.h"
#include "kernels/kernel_table.h"

namespace brigade::kernels {
namespace {

constexpr int kLanes = 8;

float lane_tree(const float* acc) {
  float s4[4], s2[2];
  for (int l = 0; l < 4; ++l) s4[l] = acc[l] + acc[l + 4];
  for (int l = 0; l < 2; ++l) s2[l] = s4[l] + s4[l + 2];
  return s2[0] + s2[1];
}

float weight_at(WeightFormat format, const uint8_t* row, int k) {
  if (format == WeightFormat::kF32) {
    float v;
    std::memcpy(&v, row + 4 * k, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, row + 2 * k, 2);
  return format == WeightFormat::kBF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

template <WeightFormat format>
void linear_float(const LinearArgs& a, int c0, int c1) {
  const int k8 = a.in_dim & ~(kLanes - 1);
  for (int r = 0; r < a.rows; ++r) {
    const float* x = a.x + static_cast<size_t>(r) * a.in_dim;
    for (int c = c0; c < c1; ++c) {
      const uint8_t* w = a.w + static_cast<size_t>(c) * a.w_stride;
      float acc[kLanes] = {};
      for (int k = 0; k < k8; k += kLanes)
        for (int l = 0; l < kLanes; ++l)
          acc[l] = __builtin_fmaf(x[k + l], weight_at(format, w, k + l), acc[l]);
      float s = lane_tree(acc);
      for (int k = k8; k < a.in_dim; ++k) s = __builtin_fmaf(x[k], weight_at(format, w, k), s);
      a.out[static_cast<size_t>(r) * a.out_stride + c] = s;
    }
  }
}

template <WeightFormat format>
void linear_quant(const LinearArgs& a, int c0, int c1) {
  const int blocks = a.in_dim / kBlock;
  int8_t q[kBlock];
  for (int r = 0; r < a.rows; ++r) {
    const int8_t* xq = &a.xq->q[static_cast<size_t>(r) * a.in_dim];
    const float* xd = &a.xq->d[static_cast<size_t>(r) * blocks];
    for (int c = c0; c < c1; ++c) {
      const uint8_t* w = a.w + static_cast<size_t>(c) * a.w_stride;
      float acc[kLanes] = {};
      for (int b = 0; b < blocks; ++b) {
        const float scale = unpack_block(format, w, a.in_dim, b, q) * xd[b];
        for (int l = 0; l < kLanes; ++l) {
          int sum = 0;
          for (int i = 4 * l; i < 4 * l + 4; ++i) sum += q[i] * xq[b * kBlock + i];
          acc[l] = __builtin_fmaf(static_cast<float>(sum), scale, acc[l]);
        }
      }
      a.out[static_cast<size_t>(r) * a.out_stride + c] = lane_tree(acc);
    }
  }
}

float dot(const float* a, const float* b, int n) {
  const int n8 = n & ~(kLanes - 1);
  float acc[kLanes] = {};
  for (int i = 0; i < n8; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = __builtin_fmaf(a[i + l], b[i + l], acc[l]);
  float s = lane_tree(acc);
  for (int i = n8; i < n; ++i) s = __builtin_fmaf(a[i], b[i], s);
  return s;
}

void axpy(float* y, float alpha, const float* x, int n) {
  for (int i = 0; i < n; ++i) y[i] = __builtin_fmaf(alpha, x[i], y[i]);
}

}  // namespace

const KernelTable& portable_table() {
  static const KernelTable table = {
      Isa::kPortable,
      {linear_float<WeightFormat::kF32>, linear_float<WeightFormat::kBF16>,
       linear_float<WeightFormat::kF16>, linear_quant<WeightFormat::kInt8>,
       linear_quant<WeightFormat::kInt4>},
      dot,
      axpy};
  return table;
}

const KernelTable& kernel_table(Isa isa) {
  switch (isa) {
    case Isa::kAvx2:
      return avx2_table();
    case Isa::kAvx512:
      return avx512_table();
    case Isa::kPortable:
      break;
  }
  return portable_table();
}

}  // namespace brigade::kernels
