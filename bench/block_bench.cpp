// Micro-benchmarks of one decoder block: a decode step (GEMV path) and a
// 32-token prefill (GEMM path) on a small random model. The end-to-end,
// bandwidth-relative number is `brigade bench block`.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>

#include "model/block_span.h"
#include "model/make_model.h"

namespace {

// One random model shared by the benchmarks, deleted at exit.
struct SmallModel {
  std::filesystem::path dir;
  brigade::ModelConfig config;
  std::shared_ptr<const brigade::Checkpoint> checkpoint;
  std::unique_ptr<brigade::BlockSpan> span;

  SmallModel() {
    auto pattern = (std::filesystem::temp_directory_path() / "brigade-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    brigade::MakeModelOptions o;
    o.layers = 1;
    o.hidden = 512;
    o.intermediate = 1408;
    o.heads = 8;
    o.kv_heads = 2;
    o.vocab = 128;
    o.tokenizer = false;
    brigade::make_model(o, dir);
    config = brigade::ModelConfig::load(dir);
    checkpoint = brigade::Checkpoint::open(dir);
    span = std::make_unique<brigade::BlockSpan>(config, *checkpoint, 0, 1);
  }
  ~SmallModel() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

SmallModel& model() {
  static SmallModel instance;
  return instance;
}

void BM_BlockDecodeStep(benchmark::State& state) {
  auto& m = model();
  const int context = static_cast<int>(state.range(0));
  auto cache = m.span->make_cache(1, context + 1);
  std::vector<float> prompt(static_cast<size_t>(context) * m.config.hidden_size, 0.01f);
  m.span->forward(prompt, 1, context, 0, cache);
  std::vector<float> hidden(m.config.hidden_size, 0.01f);
  for (auto _ : state) {
    m.span->forward(hidden, 1, 1, context, cache);  // rewrites the same position each time
    benchmark::DoNotOptimize(hidden.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(m.span->weight_bytes()));
}
BENCHMARK(BM_BlockDecodeStep)->Arg(16)->Arg(256);

void BM_BlockPrefill(benchmark::State& state) {
  auto& m = model();
  const int tokens = static_cast<int>(state.range(0));
  auto cache = m.span->make_cache(1, tokens);
  std::vector<float> hidden(static_cast<size_t>(tokens) * m.config.hidden_size, 0.01f);
  for (auto _ : state) {
    m.span->forward(hidden, 1, tokens, 0, cache);
    benchmark::DoNotOptimize(hidden.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * tokens);
}
BENCHMARK(BM_BlockPrefill)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
