// The engine's forward pass against the double-precision reference in
// reference_model.h, over the model variants we support, plus the cache
// semantics (batching, incremental decode, rollback) the servers rely on.

#include <gtest/gtest.h>

#include <thread>

#include "common/test_util.h"
#include "model/block_span.h"
#include "model/generator.h"
#include "model/local_runner.h"
#include "model/model_head.h"
#include "model/reference_model.h"
#include "util/error.h"

namespace brigade::test {
namespace {

constexpr double kTolerance = 1e-4;

// Everything the engine needs to run a checkpoint locally.
struct Engine {
  explicit Engine(const std::filesystem::path& dir)
      : config(ModelConfig::load(dir)),
        checkpoint(Checkpoint::open(dir)),
        head(config, *checkpoint),
        span(config, *checkpoint, 0, config.num_hidden_layers) {}

  std::vector<float> embed(const std::vector<int32_t>& ids) const {
    std::vector<float> hidden(ids.size() * config.hidden_size);
    head.embed(ids, hidden);
    return hidden;
  }

  // Logits [rows, vocab] of hidden states [rows, hidden].
  std::vector<float> logits(const std::vector<float>& hidden) const {
    const int rows = static_cast<int>(hidden.size() / config.hidden_size);
    std::vector<float> out(static_cast<size_t>(rows) * config.vocab_size);
    head.logits(hidden, rows, out);
    return out;
  }

  // Row `row` of a [rows, width] array.
  static std::vector<float> row(const std::vector<float>& all, size_t row, size_t width) {
    return {all.begin() + row * width, all.begin() + (row + 1) * width};
  }

  ModelConfig config;
  std::shared_ptr<const Checkpoint> checkpoint;
  ModelHead head;
  BlockSpan span;
};

std::vector<int32_t> some_ids(int n, int vocab, int salt) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + salt * 11 + 3) % vocab);
  return ids;
}

struct Variant {
  std::string name;
  MakeModelOptions options;
};

void PrintTo(const Variant& variant, std::ostream* os) { *os << variant.name; }

std::vector<Variant> variants() {
  std::vector<Variant> v;
  auto base = small_model_options();
  v.push_back({"llama_gqa_untied_f32", base});
  auto tied = base;
  tied.tied = true;
  v.push_back({"llama_tied", tied});
  auto bf16 = base;
  bf16.dtype = DType::BF16;
  v.push_back({"bf16", bf16});
  auto f16 = base;
  f16.dtype = DType::F16;
  v.push_back({"f16", f16});
  auto sharded = base;
  sharded.shards = 3;
  v.push_back({"sharded", sharded});
  auto qwen = base;
  qwen.model_type = "qwen2";
  qwen.tied = true;
  v.push_back({"qwen2_biases", qwen});
  auto mistral = base;
  mistral.model_type = "mistral";
  mistral.kv_heads = mistral.heads;  // plain multi-head attention
  v.push_back({"mistral_mha", mistral});
  auto wide_heads = base;
  wide_heads.head_dim = 32;  // q_dim 128 != hidden 64
  wide_heads.kv_heads = 1;   // multi-query attention
  v.push_back({"head_dim_32_mqa", wide_heads});
  return v;
}

class ForwardVsReference : public testing::TestWithParam<Variant> {};

TEST_P(ForwardVsReference, LogitsOfEveryPositionMatchForTwoPromptLengths) {
  TempDir dir;
  const auto path = make_small_model(dir, GetParam().options);
  const Engine engine(path);
  const ReferenceModel reference(path);
  const int vocab = engine.config.vocab_size;
  for (int n : {3, 11}) {
    const auto ids = some_ids(n, vocab, n);
    auto hidden = engine.embed(ids);
    auto cache = engine.span.make_cache(1, n);
    engine.span.forward(hidden, 1, n, 0, cache);
    const auto logits = engine.logits(hidden);
    const auto expected = reference.logits(ids);
    for (int t = 0; t < n; ++t) {
      EXPECT_LE(relative_error(Engine::row(logits, t, vocab), expected[t]), kTolerance)
          << "prompt length " << n << ", position " << t;
    }
  }
}

TEST_P(ForwardVsReference, GreedyGenerationMatches) {
  TempDir dir;
  const auto path = make_small_model(dir, GetParam().options);
  const Engine engine(path);
  const ReferenceModel reference(path);
  GenerationRequest request;
  request.prompt_ids = some_ids(5, engine.config.vocab_size, 7);
  request.max_new_tokens = 8;
  request.stop_at_eos = false;
  LocalBlockRunner runner(engine.span, 1, 13);
  const auto result = generate(engine.head, nullptr, runner, request);
  EXPECT_EQ(result.new_ids, reference.greedy(request.prompt_ids, 8));
  ASSERT_EQ(result.ids.size(), 13u);
  EXPECT_TRUE(std::equal(request.prompt_ids.begin(), request.prompt_ids.end(), result.ids.begin()));
}

INSTANTIATE_TEST_SUITE_P(Variants, ForwardVsReference, testing::ValuesIn(variants()),
                         [](const auto& info) { return info.param.name; });

class ForwardTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto options = small_model_options();
    options.layers = 3;
    path_ = make_small_model(*dir_, options);
    engine_ = new Engine(path_);
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::filesystem::path path_;
  static inline Engine* engine_ = nullptr;
};

TEST_F(ForwardTest, BatchOfTwoEqualsEachSequenceAlone) {
  const auto& e = *engine_;
  const int n = 6, d = e.config.hidden_size;
  const auto a = some_ids(n, e.config.vocab_size, 1), b = some_ids(n, e.config.vocab_size, 2);
  ASSERT_NE(a, b);
  auto both = e.embed(a);
  const auto hb = e.embed(b);
  both.insert(both.end(), hb.begin(), hb.end());
  auto cache2 = e.span.make_cache(2, n);
  e.span.forward(both, 2, n, 0, cache2);
  const ReferenceModel reference(path_);
  for (int s = 0; s < 2; ++s) {
    auto alone = e.embed(s == 0 ? a : b);
    auto cache1 = e.span.make_cache(1, n);
    e.span.forward(alone, 1, n, 0, cache1);
    const std::vector<float> batched(both.begin() + s * n * d, both.begin() + (s + 1) * n * d);
    const auto expected = reference.logits(s == 0 ? a : b);
    const auto batched_logits = e.logits(batched), alone_logits = e.logits(alone);
    for (int t = 0; t < n; ++t) {
      const auto want = expected[t];
      EXPECT_LE(relative_error(Engine::row(batched_logits, t, e.config.vocab_size), want),
                kTolerance);
      EXPECT_LE(relative_error(Engine::row(alone_logits, t, e.config.vocab_size), want),
                kTolerance);
    }
  }
}

TEST_F(ForwardTest, PrefillThenDecodeEqualsTokenByTokenAndReference) {
  const auto& e = *engine_;
  const int n = 9, prefill = 5, vocab = e.config.vocab_size;
  const auto ids = some_ids(n, vocab, 3);
  const auto expected = ReferenceModel(path_).logits(ids);

  // Prompt in one step, then one token per step.
  auto cache = e.span.make_cache(1, n);
  std::vector<int32_t> head_ids(ids.begin(), ids.begin() + prefill);
  auto hidden = e.embed(head_ids);
  e.span.forward(hidden, 1, prefill, 0, cache);
  EXPECT_EQ(cache.length(), prefill);
  EXPECT_LE(
      relative_error(Engine::row(e.logits(hidden), prefill - 1, vocab), expected[prefill - 1]),
      kTolerance);
  for (int t = prefill; t < n; ++t) {
    auto step = e.embed({ids[t]});
    e.span.forward(step, 1, 1, t, cache);
    EXPECT_EQ(cache.length(), t + 1);
    EXPECT_LE(relative_error(e.logits(step), expected[t]), kTolerance) << "position " << t;
  }

  // Every token on its own from position 0.
  auto single = e.span.make_cache(1, n);
  for (int t = 0; t < n; ++t) {
    auto step = e.embed({ids[t]});
    e.span.forward(step, 1, 1, t, single);
    EXPECT_LE(relative_error(e.logits(step), expected[t]), kTolerance) << "position " << t;
  }
}

TEST_F(ForwardTest, RollbackThenRecomputeEqualsFreshRun) {
  const auto& e = *engine_;
  const int vocab = e.config.vocab_size;
  const auto first = some_ids(8, vocab, 4);
  auto cache = e.span.make_cache(1, 12);
  auto hidden = e.embed(first);
  e.span.forward(hidden, 1, 8, 0, cache);
  ASSERT_EQ(cache.length(), 8);

  // Keep 4 tokens, replace the rest with a different continuation of 5.
  const auto tail = some_ids(5, vocab, 9);
  auto step = e.embed(tail);
  e.span.forward(step, 1, 5, 4, cache);
  EXPECT_EQ(cache.length(), 9);

  std::vector<int32_t> fresh_ids(first.begin(), first.begin() + 4);
  fresh_ids.insert(fresh_ids.end(), tail.begin(), tail.end());
  auto fresh = e.embed(fresh_ids);
  auto fresh_cache = e.span.make_cache(1, 12);
  e.span.forward(fresh, 1, 9, 0, fresh_cache);
  const std::vector<float> fresh_tail(fresh.begin() + 4 * e.config.hidden_size, fresh.end());
  const auto expected = ReferenceModel(path_).logits(fresh_ids);
  const auto got = e.logits(step), want_engine = e.logits(fresh_tail);
  for (int t = 0; t < 5; ++t) {
    EXPECT_LE(relative_error(Engine::row(got, t, vocab), expected[4 + t]), kTolerance);
    const auto w = Engine::row(want_engine, t, vocab);
    EXPECT_LE(relative_error(Engine::row(got, t, vocab), std::vector<double>(w.begin(), w.end())),
              1e-5);
  }
}

TEST_F(ForwardTest, SubRangesChainToTheWholeSpan) {
  const auto& e = *engine_;
  const auto ids = some_ids(4, e.config.vocab_size, 5);
  auto whole = e.embed(ids);
  auto cache = e.span.make_cache(1, 4);
  e.span.forward(whole, 1, 4, 0, cache);

  auto parts = e.embed(ids);
  KvCache first(1, 1, e.config.num_key_value_heads, e.config.head_dim, 4);
  KvCache rest(2, 1, e.config.num_key_value_heads, e.config.head_dim, 4);
  e.span.forward_range(0, 1, parts, 1, 4, 0, first);
  e.span.forward_range(1, 3, parts, 1, 4, 0, rest);
  for (size_t i = 0; i < whole.size(); ++i) ASSERT_NEAR(parts[i], whole[i], 1e-5f) << i;
  EXPECT_THROW(e.span.forward_range(1, 3, parts, 1, 4, 0, first), Error);  // 1-layer cache
  EXPECT_THROW(e.span.forward_range(2, 4, parts, 1, 4, 0, rest), Error);   // past the span
}

TEST_F(ForwardTest, ConcurrentSessionsWithDistinctCachesAgree) {
  const auto& e = *engine_;
  const auto ids = some_ids(7, e.config.vocab_size, 6);
  auto expected = e.embed(ids);
  auto cache = e.span.make_cache(1, 7);
  e.span.forward(expected, 1, 7, 0, cache);
  std::vector<std::vector<float>> outputs(4, e.embed(ids));
  std::vector<std::thread> threads;
  for (auto& out : outputs) {
    threads.emplace_back([&e, &out] {
      auto c = e.span.make_cache(1, 7);
      for (int repeat = 0; repeat < 5; ++repeat) {
        auto copy = out;
        e.span.forward(copy, 1, 7, 0, c);
        if (repeat == 4) out = copy;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : outputs) {
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-5f);
  }
}

TEST_F(ForwardTest, RejectsInconsistentSteps) {
  const auto& e = *engine_;
  const int d = e.config.hidden_size;
  auto cache = e.span.make_cache(1, 4);
  std::vector<float> one(d, 0.1f), two(2 * d, 0.1f);
  EXPECT_THROW(e.span.forward(one, 1, 1, 1, cache), Error);  // past the cached length
  EXPECT_THROW(e.span.forward(two, 2, 1, 0, cache), Error);  // batch differs from cache
  EXPECT_THROW(e.span.forward(two, 1, 1, 0, cache), Error);  // wrong hidden size
  std::vector<float> five(5 * d, 0.1f);
  EXPECT_THROW(e.span.forward(five, 1, 5, 0, cache), Error);      // past max length
  EXPECT_THROW(BlockSpan(e.config, *e.checkpoint, 2, 4), Error);  // only 3 blocks
  EXPECT_THROW(BlockSpan(e.config, *e.checkpoint, 1, 1), Error);  // empty
  EXPECT_EQ(cache.length(), 0);
}

TEST_F(ForwardTest, EmbedRejectsOutOfRangeIds) {
  const auto& e = *engine_;
  std::vector<float> out(e.config.hidden_size);
  const std::vector<int32_t> too_big = {e.config.vocab_size}, negative = {-1};
  EXPECT_THROW(e.head.embed(too_big, out), Error);
  EXPECT_THROW(e.head.embed(negative, out), Error);
}

TEST_F(ForwardTest, GenerationStopsAtEosAndReportsTokens) {
  const auto& e = *engine_;
  // Find what greedy decoding produces, then declare its 3rd token EOS.
  GenerationRequest request;
  request.prompt_ids = some_ids(4, e.config.vocab_size, 8);
  request.max_new_tokens = 6;
  request.stop_at_eos = false;
  LocalBlockRunner runner(e.span, 1, 10);
  const auto full = generate(e.head, nullptr, runner, request);
  ASSERT_EQ(full.new_ids.size(), 6u);

  auto config = e.config;
  config.eos_token_ids = {full.new_ids[2]};
  const ModelHead head(config, *e.checkpoint);
  request.stop_at_eos = true;
  request.keep_first_logits = true;
  std::vector<int32_t> reported;
  request.on_token = [&](int index, int32_t id, const std::string&, double) {
    EXPECT_EQ(index, static_cast<int>(reported.size()));
    reported.push_back(id);
  };
  LocalBlockRunner runner2(e.span, 1, 10);
  const auto stopped = generate(head, nullptr, runner2, request);
  // Stops at the first occurrence of the EOS id, which it keeps.
  const auto first_eos = std::find(full.new_ids.begin(), full.new_ids.end(), full.new_ids[2]);
  const std::vector<int32_t> expected(full.new_ids.begin(), first_eos + 1);
  EXPECT_EQ(stopped.new_ids, expected);
  EXPECT_EQ(reported, expected);
  ASSERT_EQ(stopped.first_logits.size(), static_cast<size_t>(e.config.vocab_size));
  EXPECT_EQ(std::max_element(stopped.first_logits.begin(), stopped.first_logits.end()) -
                stopped.first_logits.begin(),
            expected[0]);
}

}  // namespace
}  // namespace brigade::test
