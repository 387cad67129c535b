// The kernels' contract (kernel_table.h): every path agrees bitwise with the
// portable one, results do not depend on how rows and columns are grouped
// into calls, and the numbers are right against a double-precision product.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cpu.h"
#include "kernels/format.h"
#include "kernels/half.h"
#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"
#include "util/error.h"

namespace brigade::kernels {
namespace {

const WeightFormat kFormats[] = {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16,
                                 WeightFormat::kInt8, WeightFormat::kInt4};

std::vector<float> random_values(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// A matrix in `format` made from random values, with its storage.
struct TestMatrix {
  std::vector<uint8_t> stored;
  WeightMatrix w;
};

TestMatrix make_matrix(WeightFormat format, int out_dim, int in_dim, uint64_t seed) {
  const auto values = random_values(static_cast<size_t>(out_dim) * in_dim, seed, 0.5f);
  TestMatrix m;
  const WeightFormat stored = is_quantized(format) ? WeightFormat::kF32 : format;
  m.stored.resize(row_bytes(stored, in_dim) * out_dim);
  for (size_t i = 0; i < values.size(); ++i) {
    if (stored == WeightFormat::kF32) {
      std::memcpy(&m.stored[4 * i], &values[i], 4);
    } else {
      const uint16_t h =
          stored == WeightFormat::kBF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
      std::memcpy(&m.stored[2 * i], &h, 2);
    }
  }
  m.w = is_quantized(format)
            ? WeightMatrix::quantize(format, stored, m.stored, out_dim, in_dim, "test")
            : WeightMatrix::view(format, m.stored, out_dim, in_dim, "test");
  return m;
}

// Runs one table over rows [r0, r1) and columns [c0, c1) of x @ w^T.
void run_table(const KernelTable& table, const WeightMatrix& w, const std::vector<float>& x, int r0,
               int r1, int c0, int c1, std::vector<float>& out) {
  const int in_dim = w.in_dim();
  QuantizedActivations xq;
  if (is_quantized(w.format()))
    xq.quantize(&x[static_cast<size_t>(r0) * in_dim], r1 - r0, in_dim, ThreadPool::global());
  LinearArgs args;
  args.x = &x[static_cast<size_t>(r0) * in_dim];
  args.xq = &xq;
  args.w = w.data();
  args.w_stride = w.row_stride();
  args.out = &out[static_cast<size_t>(r0) * w.out_dim()];
  args.out_stride = w.out_dim();
  args.rows = r1 - r0;
  args.in_dim = in_dim;
  table.linear[static_cast<int>(w.format())](args, c0, c1);
}

class KernelsTest : public ::testing::TestWithParam<WeightFormat> {};

TEST_P(KernelsTest, EveryPathEqualsPortableBitwise) {
  const WeightFormat format = GetParam();
  // 96, 160, 288 and 320 input features: full 8-lane groups, and for
  // int8/int4 3, 5, 9 and 10 blocks (groups of 8 blocks, pairs and an odd
  // last block); 3, 13 and 100 (float formats only) exercise the scalar tail.
  // Rows 1, 2, 3, 5 and 7 reach every tile shape (the one-row decode tile, and
  // 4-row tiles with 1-3 left over).
  for (int in_dim : {96, 160, 288, 320, 3, 13, 100}) {
    if (is_quantized(format) && in_dim % kBlock != 0) continue;
    for (int rows : {1, 2, 3, 5, 7}) {
      const int out_dim = 37;
      const auto m = make_matrix(format, out_dim, in_dim, 7);
      const auto x = random_values(static_cast<size_t>(rows) * in_dim, 11);
      std::vector<float> expected(static_cast<size_t>(rows) * out_dim);
      run_table(portable_table(), m.w, x, 0, rows, 0, out_dim, expected);
      for (Isa isa : supported_isas()) {
        std::vector<float> got(expected.size());
        run_table(kernel_table(isa), m.w, x, 0, rows, 0, out_dim, got);
        EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)))
            << isa_name(isa) << " differs from portable for " << format_name(format) << " in_dim "
            << in_dim << " rows " << rows;
      }
    }
  }
}

TEST_P(KernelsTest, ResultsDoNotDependOnRowsOrColumnsPerCall) {
  const WeightFormat format = GetParam();
  const int rows = 9, out_dim = 41, in_dim = 128;
  const auto m = make_matrix(format, out_dim, in_dim, 3);
  const auto x = random_values(static_cast<size_t>(rows) * in_dim, 5);
  for (Isa isa : supported_isas()) {
    const KernelTable& table = kernel_table(isa);
    std::vector<float> all(static_cast<size_t>(rows) * out_dim);
    run_table(table, m.w, x, 0, rows, 0, out_dim, all);
    // One row at a time, in column pieces of odd sizes: decode steps on
    // other thread counts.
    std::vector<float> pieces(all.size());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < out_dim; c += 3)
        run_table(table, m.w, x, r, r + 1, c, std::min(out_dim, c + 3), pieces);
    EXPECT_EQ(0, std::memcmp(all.data(), pieces.data(), all.size() * sizeof(float)))
        << isa_name(isa) << " " << format_name(format);
    // Rows in groups of 2 and 3 (batches of other sizes).
    std::vector<float> groups(all.size());
    for (int r = 0; r < rows; r += (r % 2 ? 3 : 2))
      run_table(table, m.w, x, r, std::min(rows, r + (r % 2 ? 3 : 2)), 0, out_dim, groups);
    EXPECT_EQ(0, std::memcmp(all.data(), groups.data(), all.size() * sizeof(float)))
        << isa_name(isa) << " " << format_name(format);
  }
}

TEST_P(KernelsTest, CloseToTheDoublePrecisionProductOfTheWeightsItHolds) {
  const WeightFormat format = GetParam();
  const int rows = 3, out_dim = 29, in_dim = 256;
  const auto m = make_matrix(format, out_dim, in_dim, 21);
  const auto x = random_values(static_cast<size_t>(rows) * in_dim, 23);
  std::vector<float> got(static_cast<size_t>(rows) * out_dim);
  linear(x.data(), rows, m.w, got.data());
  std::vector<float> w_row(in_dim);
  double max_err = 0, max_ref = 0;
  for (int c = 0; c < out_dim; ++c) {
    m.w.row_f32(c, w_row.data());
    for (int r = 0; r < rows; ++r) {
      double ref = 0;
      for (int k = 0; k < in_dim; ++k) ref += static_cast<double>(x[r * in_dim + k]) * w_row[k];
      max_err = std::max(max_err, std::fabs(ref - got[r * out_dim + c]));
      max_ref = std::max(max_ref, std::fabs(ref));
    }
  }
  // Float formats: only f32 rounding. Quantized: the int8 activations add
  // about 1/254 of each block's largest value per term.
  const double bound = is_quantized(format) ? 2e-2 : 1e-5;
  EXPECT_LT(max_err / max_ref, bound) << format_name(format);
}

INSTANTIATE_TEST_SUITE_P(Formats, KernelsTest, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(format_name(info.param)); });

TEST(QuantizeTest, BlocksRoundTripWithinHalfAStep) {
  // 5 blocks: two int4 pairs and an odd last block.
  constexpr int kBlocks = 5, n = kBlocks * kBlock;
  const auto x = random_values(n, 9);
  std::vector<uint8_t> q8(row_bytes(WeightFormat::kInt8, n)), q4(row_bytes(WeightFormat::kInt4, n));
  EXPECT_EQ(34u * kBlocks, q8.size());
  EXPECT_EQ(18u * kBlocks, q4.size());
  quantize_row(WeightFormat::kInt8, x.data(), q8.data(), n);
  quantize_row(WeightFormat::kInt4, x.data(), q4.data(), n);
  std::vector<float> back8(n), back4(n);
  dequantize_row(WeightFormat::kInt8, q8.data(), back8.data(), n);
  dequantize_row(WeightFormat::kInt4, q4.data(), back4.data(), n);
  for (int b = 0; b < kBlocks; ++b) {
    int8_t levels[kBlock];
    const float d8 = unpack_block(WeightFormat::kInt8, q8.data(), n, b, levels);
    const float signed_d4 = unpack_block(WeightFormat::kInt4, q4.data(), n, b, levels);
    const float d4 = std::fabs(signed_d4);
    for (int i = b * kBlock; i < (b + 1) * kBlock; ++i) {
      // The f16 rounding of the scale adds a relative 2^-11 of the value.
      EXPECT_LE(std::fabs(back8[i] - x[i]), d8 / 2 + std::fabs(x[i]) * 1e-3f) << i;
      // int4 levels run from -8 to 7 steps: the side opposite the extreme
      // (which maps to -8 exactly) reaches only 7 steps, a full step short.
      const bool top_clamped = x[i] / signed_d4 > 7.5f;
      EXPECT_LE(std::fabs(back4[i] - x[i]), (top_clamped ? d4 : d4 / 2) + std::fabs(x[i]) * 1e-3f)
          << i;
    }
  }
}

TEST(QuantizeTest, RefusesRowsThatAreNotWholeBlocksNamingTheTensor) {
  std::vector<uint8_t> bytes(4 * 100 * 2);
  try {
    WeightMatrix::quantize(WeightFormat::kInt4, WeightFormat::kF32, bytes, 2, 100, "layer.w");
    FAIL() << "quantized 100 features";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer.w"), std::string::npos) << e.what();
  }
}

TEST(AttentionTest, OneQueryGivesTheSameBitsAloneOrAmongOthers) {
  const int head_dim = 40, heads = 4, kv_heads = 2, length = 13;
  const auto keys = random_values(static_cast<size_t>(kv_heads) * length * head_dim, 1);
  const auto values = random_values(keys.size(), 2);
  const auto q = random_values(static_cast<size_t>(length) * heads * head_dim, 3);
  std::vector<const float*> k_ptrs, v_ptrs;
  std::vector<int> positions;
  for (int r = 0; r < length; ++r) {
    positions.push_back(r);
    for (int h = 0; h < kv_heads; ++h) {
      k_ptrs.push_back(&keys[static_cast<size_t>(h) * length * head_dim]);
      v_ptrs.push_back(&values[static_cast<size_t>(h) * length * head_dim]);
    }
  }
  std::vector<float> all(q.size()), one(heads * head_dim);
  attention({q.data(), all.data(), length, positions.data(), heads, kv_heads, head_dim,
             k_ptrs.data(), v_ptrs.data()});
  for (int r = 0; r < length; ++r) {
    attention({&q[static_cast<size_t>(r) * heads * head_dim], one.data(), 1, &positions[r], heads,
               kv_heads, head_dim, &k_ptrs[r * kv_heads], &v_ptrs[r * kv_heads]});
    EXPECT_EQ(0, std::memcmp(one.data(), &all[static_cast<size_t>(r) * heads * head_dim],
                             one.size() * sizeof(float)))
        << "row " << r;
  }
}

TEST(ThreadPoolTest, RunsEveryTaskOnceUnderConcurrentCallers) {
  ThreadPool pool(3);
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      // Jobs of changing sizes back to back: a thread late from one job must
      // never take a task of the next.
      for (int job = 0; job < 3000; ++job) {
        const int tasks = 2 + job % 41;
        std::vector<std::atomic<int>> hits(tasks);
        pool.run(tasks, [&](int i) { hits[i].fetch_add(1); });
        for (auto& h : hits)
          if (h.load() != 1) wrong.fetch_add(1);
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(0, wrong.load());
}

TEST(ThreadPoolTest, AThrowingTaskIsRethrownAfterEveryTaskRan) {
  ThreadPool pool(2);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> ran{0};
    EXPECT_THROW(pool.run(16,
                          [&](int i) {
                            ran.fetch_add(1);
                            if (i % 5 == 3) throw Error("task failed");
                          }),
                 Error);
    EXPECT_EQ(16, ran.load());
    // The pool still works afterwards.
    std::atomic<int> after{0};
    pool.run(8, [&](int) { after.fetch_add(1); });
    EXPECT_EQ(8, after.load());
  }
}

TEST(QuantizeTest, NonFiniteAndTinyValuesQuantizeWithoutUndefinedConversions) {
  std::vector<float> x(kBlock, 1e-38f);
  x[0] = std::nanf("");
  x[1] = -3e-38f;
  QuantizedActivations act;
  act.quantize(x.data(), 1, kBlock, ThreadPool::global());
  for (int i = 0; i < kBlock; ++i) EXPECT_EQ(0, act.q[i]) << i;  // 1 / d is not finite
  x.assign(kBlock, 1.0f);
  x[3] = std::nanf("");
  std::vector<uint8_t> q8(row_bytes(WeightFormat::kInt8, kBlock));
  std::vector<uint8_t> q4(row_bytes(WeightFormat::kInt4, kBlock));
  quantize_row(WeightFormat::kInt8, x.data(), q8.data(), kBlock);
  quantize_row(WeightFormat::kInt4, x.data(), q4.data(), kBlock);
  int8_t levels[kBlock];
  unpack_block(WeightFormat::kInt8, q8.data(), kBlock, 0, levels);
  EXPECT_EQ(0, levels[3]);
  EXPECT_EQ(127, levels[0]);
}

TEST(CpuTest, ThePortablePathIsAlwaysThereAndForcingAnUnsupportedOneFails) {
  const auto isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(Isa::kPortable, isas.front());
  const Isa before = active_isa();
  force_isa(Isa::kPortable);
  EXPECT_EQ(Isa::kPortable, active_isa());
  force_isa(before);
}

}  // namespace
}  // namespace brigade::kernels
