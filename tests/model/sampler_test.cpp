#include "model/sampler.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "util/error.h"

namespace brigade {
namespace {

TEST(Sampler, GreedyTakesArgmaxAndLowestIdOnTies) {
  Sampler greedy({});
  EXPECT_EQ(greedy.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}), 1);
  EXPECT_EQ(greedy.sample(std::vector<float>{1.0f, 5.0f, 5.0f, 5.0f}), 1);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenIds) {
  SamplingOptions options;
  options.repetition_penalty = 2.0f;
  Sampler greedy(options);
  const std::vector<float> logits = {3.0f, 2.0f, -0.5f};
  // Unseen: the argmax.
  EXPECT_EQ(greedy.sample(logits, std::vector<int32_t>{}), 0);
  // 0 seen (twice: penalized once): 3 / 2 = 1.5 < 2.
  EXPECT_EQ(greedy.sample(logits, std::vector<int32_t>{0, 0}), 1);
  // 0 and 1 seen: 1.5, 1.0, -0.5 -> still 0.
  EXPECT_EQ(greedy.sample(logits, std::vector<int32_t>{0, 1}), 0);
  // A negative logit grows more negative: -0.5 * 2 = -1 stays last.
  const std::vector<float> negative = {-0.6f, -0.5f};
  EXPECT_EQ(greedy.sample(negative, std::vector<int32_t>{1}), 0);
  // Ids outside the logits are ignored; 1 = off.
  EXPECT_EQ(greedy.sample(logits, std::vector<int32_t>{7, -1}), 0);
  EXPECT_EQ(Sampler({}).sample(logits, std::vector<int32_t>{0}), 0);
}

std::map<int32_t, int> histogram(SamplingOptions options, const std::vector<float>& logits,
                                 int draws) {
  Sampler sampler(options);
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits)];
  return counts;
}

const std::vector<float> kLogits = {2.0f, 1.0f, 0.0f, -1.0f, 0.5f};

TEST(Sampler, TemperatureFollowsTheSoftmax) {
  SamplingOptions options;
  options.temperature = 1.0f;
  options.seed = 42;
  const int draws = 20000;
  const auto counts = histogram(options, kLogits, draws);
  double z = 0;
  for (float l : kLogits) z += std::exp(l);
  for (int32_t id = 0; id < 5; ++id) {
    const double p = std::exp(kLogits[id]) / z;
    const double sd = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(counts.count(id) ? counts.at(id) / double(draws) : 0.0, p, 5 * sd) << id;
  }
}

TEST(Sampler, TopKAndTopPCutTheTail) {
  SamplingOptions options;
  options.temperature = 1.0f;
  options.top_k = 2;
  auto counts = histogram(options, kLogits, 2000);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_TRUE(counts.count(0) && counts.count(1));

  options.top_k = 0;
  options.top_p = 0.5f;  // p(0) ~ 0.51 alone reaches it
  counts = histogram(options, kLogits, 500);
  EXPECT_EQ(counts.size(), 1u);
  EXPECT_TRUE(counts.count(0));

  options.top_p = 0.8f;  // needs ids 0, 1 and 4 (0.51 + 0.19 + 0.11)
  counts = histogram(options, kLogits, 3000);
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_TRUE(counts.count(0) && counts.count(1) && counts.count(4));
}

TEST(Sampler, SeedReproducesAndDiffers) {
  SamplingOptions options;
  options.temperature = 2.0f;
  options.seed = 7;
  std::vector<int32_t> a, b, c;
  Sampler sa(options), sb(options);
  options.seed = 8;
  Sampler sc(options);
  for (int i = 0; i < 64; ++i) {
    a.push_back(sa.sample(kLogits));
    b.push_back(sb.sample(kLogits));
    c.push_back(sc.sample(kLogits));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Sampler, RejectsBadOptions) {
  SamplingOptions options;
  options.temperature = -1;
  EXPECT_THROW(Sampler{options}, Error);
  options.temperature = 1;
  options.top_p = 0;
  EXPECT_THROW(Sampler{options}, Error);
}

}  // namespace
}  // namespace brigade
