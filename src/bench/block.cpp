// `brigade bench block`: is decoding memory-bandwidth bound? Measures the
// per-token decode time of all blocks of a model (batch 1, one token per
// step) and the machine's memory read bandwidth in the same run, and reports
// their ratio to the floor "weight bytes / read bandwidth".
//
// Why read bandwidth: a decode step streams every weight once and writes
// almost nothing, so the floor is the time to *read* the weights. We measure
// it with a read-only sum over a buffer much larger than the caches, on 1 and
// on all cores, and keep the fastest (the strictest floor). For reference we
// also time a memcpy of the same buffer and report it as bytes copied per
// second (the memory moves twice that, read + write); it is not the floor.

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/bandwidth.h"
#include "bench/commands.h"
#include "bench/timing.h"
#include "model/block_span.h"
#include "model/make_model.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace brigade::bench {
namespace {

struct BlockFlags {
  std::string model;
  int tokens = 32;
  int prefill = 16;
  bool json = false;
};

// The best of every bandwidth measurement of the run, in bytes per second.
struct Bandwidth {
  int cores = 1;
  double read_1 = 0;    // one thread
  double read_all = 0;  // every core
  double copy = 0;      // memcpy, bytes copied
};

// Decode time per token, in milliseconds.
struct DecodeTiming {
  double mean_ms = 0;
  double median_ms = 0;
};

double copy_bandwidth(const std::vector<uint64_t>& buffer, int repeats) {
  std::vector<uint64_t> destination(buffer.size(), 1);  // touched: no page faults in the timing
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    std::memcpy(destination.data(), buffer.data(), buffer.size() * sizeof(uint64_t));
    best = std::max(best,
                    static_cast<double>(buffer.size() * sizeof(uint64_t)) / seconds_since(start));
  }
  volatile uint64_t sink = destination[destination.size() / 2];
  (void)sink;
  return best;
}

// Measures again and keeps the best of each figure.
void measure_bandwidth(const std::vector<uint64_t>& buffer, Bandwidth& best) {
  best.read_1 = std::max(best.read_1, read_bandwidth(buffer, 1, 3));
  best.read_all =
      std::max(best.read_all, best.cores > 1 ? read_bandwidth(buffer, best.cores, 3) : best.read_1);
  best.copy = std::max(best.copy, copy_bandwidth(buffer, 3));
}

// TinyLlama's block shape, fewer blocks: big enough to defeat the caches.
void make_block_model(const std::filesystem::path& dir) {
  MakeModelOptions o;
  o.layers = 4;
  o.hidden = 2048;
  o.intermediate = 5632;
  o.heads = 32;
  o.kv_heads = 4;
  o.vocab = 256;
  o.tokenizer = false;
  make_model(o, dir);
}

// Prefills `prefill` tokens, then times `tokens` single-token decode steps
// after two untimed ones.
DecodeTiming time_decode(const BlockSpan& span, int hidden_size, int prefill, int tokens) {
  const int warmup = 2;
  auto cache = span.make_cache(1, prefill + warmup + tokens);
  std::vector<float> hidden(static_cast<size_t>(prefill) * hidden_size);
  for (size_t i = 0; i < hidden.size(); ++i) hidden[i] = static_cast<float>((i % 17) - 8) / 8;
  span.forward(hidden, 1, prefill, 0, cache);
  std::vector<float> step(hidden.end() - hidden_size, hidden.end());
  std::vector<double> ms;
  for (int t = 0; t < warmup + tokens; ++t) {
    const auto start = Clock::now();
    span.forward(step, 1, 1, cache.length(), cache);
    if (t >= warmup) ms.push_back(seconds_since(start) * 1000.0);
  }
  DecodeTiming timing;
  for (double m : ms) timing.mean_ms += m;
  timing.mean_ms /= static_cast<double>(ms.size());
  std::sort(ms.begin(), ms.end());
  timing.median_ms = ms[ms.size() / 2];
  return timing;
}

void print_block_report(const BlockFlags& flags, const ModelConfig& config, size_t weight_bytes,
                        const DecodeTiming& decode, const Bandwidth& bandwidth) {
  const double read_bw = std::max(bandwidth.read_1, bandwidth.read_all);
  const double floor_ms = static_cast<double>(weight_bytes) / read_bw * 1000.0;
  const double ratio = decode.mean_ms / floor_ms;
  if (flags.json) {
    nlohmann::json j = {{"layers", config.num_hidden_layers},
                        {"hidden", config.hidden_size},
                        {"weight_bytes", weight_bytes},
                        {"tokens", flags.tokens},
                        {"decode_ms", decode.mean_ms},
                        {"decode_median_ms", decode.median_ms},
                        {"read_bandwidth_gbs", read_bw / 1e9},
                        {"read_bandwidth_1thread_gbs", bandwidth.read_1 / 1e9},
                        {"copy_bandwidth_gbs", bandwidth.copy / 1e9},
                        {"floor_ms", floor_ms},
                        {"ratio", ratio}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("blocks:          %d x hidden %d, %.1f MB of f32 weights\n", config.num_hidden_layers,
              config.hidden_size, static_cast<double>(weight_bytes) / 1e6);
  std::printf("decode:          %.2f ms/token mean, %.2f median (%d steps, batch 1)\n",
              decode.mean_ms, decode.median_ms, flags.tokens);
  std::printf("read bandwidth:  %.2f GB/s (1 thread %.2f, %d threads %.2f)\n", read_bw / 1e9,
              bandwidth.read_1 / 1e9, bandwidth.cores, bandwidth.read_all / 1e9);
  std::printf("memcpy:          %.2f GB/s copied (reads + writes %.2f GB/s)\n",
              bandwidth.copy / 1e9, 2 * bandwidth.copy / 1e9);
  std::printf("floor:           %.2f ms/token (weight bytes / read bandwidth)\n", floor_ms);
  std::printf("ratio:           %.2f (decode / floor)\n", ratio);
}

void run_block_bench(const BlockFlags& flags) {
  require(flags.tokens > 0 && flags.prefill > 0, "--tokens and --prefill must be positive");
  std::unique_ptr<TempDir> scratch;
  std::filesystem::path dir = flags.model;
  if (dir.empty()) {
    scratch = std::make_unique<TempDir>("brigade-bench");
    dir = *scratch / "model";
    make_block_model(dir);
  }
  const auto config = ModelConfig::load(dir);
  const auto checkpoint = Checkpoint::open(dir);
  const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers);
  scratch.reset();  // weights are in memory now; free the disk early

  // Bandwidth is measured both before and after the decode timing and the
  // best kept, so that a busy moment of the machine cannot make the floor
  // look easy.
  const std::vector<uint64_t> buffer = bandwidth_buffer();
  Bandwidth bandwidth;
  bandwidth.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  measure_bandwidth(buffer, bandwidth);
  const DecodeTiming decode = time_decode(span, config.hidden_size, flags.prefill, flags.tokens);
  measure_bandwidth(buffer, bandwidth);
  print_block_report(flags, config, span.weight_bytes(), decode, bandwidth);
}

}  // namespace

void add_block_command(CLI::App& bench) {
  auto flags = std::make_shared<BlockFlags>();
  auto* cmd = bench.add_subcommand(
      "block",
      "Decode time of all blocks vs. the memory-bandwidth floor (weights / read bandwidth)");
  cmd->add_option("--model", flags->model,
                  "Checkpoint directory (default: a temporary 4-block, hidden 2048 f32 model, "
                  "about 720 MB)");
  cmd->add_option("--tokens", flags->tokens, "Decode steps to time")->capture_default_str();
  cmd->add_option("--prefill", flags->prefill, "Prompt tokens before decoding")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object");
  cmd->callback([flags] { run_block_bench(*flags); });
}

}  // namespace brigade::bench
