// `brigade bench engine`: the single-process engine at one weight format:
// decode ms/token and prefill tokens/s of the whole model (embeddings, every
// block, final norm, LM head, greedy sampling), weight bytes read per decoded
// token against the read bandwidth measured in the same run, and peak RSS.
// Run it beside llama.cpp on the same checkpoint with
// bench/engine_vs_llamacpp.sh (docs/benchmarks.md).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bandwidth.h"
#include "bench/commands.h"
#include "bench/proc_status.h"
#include "cli/engine_flags.h"
#include "kernels/cpu.h"
#include "kernels/thread_pool.h"
#include "model/block_span.h"
#include "model/generator.h"
#include "model/local_runner.h"
#include "model/make_model.h"
#include "model/model_head.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace brigade::bench {
namespace {

struct EngineBenchFlags {
  std::string model, format = "f32";
  cli::EngineFlags engine;
  int tokens = 96, prompt = 256;
  bool json = false;

  bool quantized() const { return format == "int8" || format == "int4"; }
};

// What one run measured.
struct EngineResult {
  std::string format;
  int threads = 0;
  double decode_median_ms = 0;
  double decode_mean_ms = 0;
  double prefill_s = 0;
  double bytes_per_token = 0;
  double read_bandwidth = 0;  // bytes per second
  size_t peak_rss = 0;        // bytes
};

// Peak resident set size of this process so far, in bytes.
size_t peak_rss() { return static_cast<size_t>(proc_status_kib("self", "VmHWM")) * 1024; }

// Starts the peak over, so that making the model does not count.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// A random Llama of dim 1024 and 12 layers, stored as --format (or as f32
// when --format is a quantization applied at load).
void make_engine_model(const EngineBenchFlags& flags, const std::filesystem::path& dir) {
  MakeModelOptions o;
  o.layers = 12;
  o.hidden = 1024;
  o.intermediate = 2816;
  o.heads = 16;
  o.kv_heads = 16;
  o.vocab = 32000;
  o.max_position_embeddings = flags.prompt + flags.tokens + 8;
  o.dtype = flags.quantized() ? DType::F32 : parse_dtype(flags.format);
  o.tokenizer = false;
  make_model(o, dir);
}

// Seconds to prefill a prompt of --prompt ids, up to the first new token.
double time_prefill(const ModelHead& head, const BlockSpan& span, const ModelConfig& config,
                    int prompt) {
  GenerationRequest request;
  for (int i = 0; i < prompt; ++i)
    request.prompt_ids.push_back(1 + (i * 7919) % (config.vocab_size - 1));
  request.max_new_tokens = 1;
  request.stop_at_eos = false;
  {
    LocalBlockRunner warm(span, 1, prompt + 1);
    generate(head, nullptr, warm, request);  // page in the weights
  }
  LocalBlockRunner prefill_runner(span, 1, prompt + 1);
  return generate(head, nullptr, prefill_runner, request).prefill_s;
}

// Decode: one token per step after a one-token prompt, as llama.cpp's bench
// does (--prompt-ids 1). Fills the median and mean ms per token.
void time_decode(const ModelHead& head, const BlockSpan& span, int tokens, EngineResult& result) {
  GenerationRequest request;
  request.prompt_ids = {1};
  request.max_new_tokens = tokens + 1;
  request.stop_at_eos = false;
  std::vector<double> step_ms;
  request.on_token = [&](int index, int32_t, const std::string&, double ms) {
    if (index > 0) step_ms.push_back(ms);
  };
  LocalBlockRunner decode_runner(span, 1, tokens + 2);
  result.decode_mean_ms = generate(head, nullptr, decode_runner, request).per_token_ms;
  std::sort(step_ms.begin(), step_ms.end());
  result.decode_median_ms = step_ms[step_ms.size() / 2];
}

void print_engine_report(const EngineBenchFlags& flags, const BlockSpan& span,
                         const EngineResult& r) {
  const double floor_ms = r.bytes_per_token / r.read_bandwidth * 1000.0;
  const double rss_mib = static_cast<double>(r.peak_rss) / (1 << 20);
  if (flags.json) {
    nlohmann::json j = {{"format", r.format},
                        {"isa", kernels::isa_name(kernels::active_isa())},
                        {"numerics", span.numerics_id()},
                        {"threads", r.threads},
                        {"decode_ms", r.decode_median_ms},
                        {"decode_mean_ms", r.decode_mean_ms},
                        {"prefill_tokens", flags.prompt},
                        {"prefill_tok_s", flags.prompt / r.prefill_s},
                        {"bytes_per_token", r.bytes_per_token},
                        {"read_bandwidth_gbs", r.read_bandwidth / 1e9},
                        {"floor_ms", floor_ms},
                        {"ratio_to_floor", r.decode_median_ms / floor_ms},
                        {"peak_rss_mib", rss_mib},
                        {"weight_mib", r.bytes_per_token / (1 << 20)}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("format:          %s (%s kernels, %d threads, numerics %s)\n", r.format.c_str(),
              kernels::isa_name(kernels::active_isa()), r.threads, span.numerics_id().c_str());
  std::printf("decode:          %.2f ms/token median, %.2f mean (%d steps)\n", r.decode_median_ms,
              r.decode_mean_ms, flags.tokens);
  std::printf("prefill:         %.1f tokens/s (%d-token prompt)\n", flags.prompt / r.prefill_s,
              flags.prompt);
  std::printf(
      "weights read:    %.1f MiB per token; read bandwidth %.2f GB/s; floor %.2f ms "
      "(ratio %.2f)\n",
      r.bytes_per_token / (1 << 20), r.read_bandwidth / 1e9, floor_ms,
      r.decode_median_ms / floor_ms);
  std::printf("peak RSS:        %.1f MiB\n", rss_mib);
}

void run_engine_bench(const EngineBenchFlags& flags) {
  require(flags.tokens > 1 && flags.prompt > 0, "--tokens must be > 1 and --prompt > 0");
  cli::EngineFlags engine = flags.engine;
  engine.quant = flags.quantized() ? flags.format : "none";
  const auto quant = cli::apply_engine_flags(engine);

  std::unique_ptr<TempDir> scratch;
  std::filesystem::path dir = flags.model;
  if (dir.empty()) {
    scratch = std::make_unique<TempDir>("brigade-bench-engine");
    dir = *scratch / "model";
    make_engine_model(flags, dir);
  }
  reset_peak_rss();
  const auto config = ModelConfig::load(dir);
  const auto checkpoint = Checkpoint::open(dir);
  const ModelHead head(config, *checkpoint, quant);
  const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers, quant);
  EngineResult result;
  result.format = kernels::format_name(span.weight_format());
  require(flags.quantized() || result.format == flags.format,
          "--format {}: the checkpoint {} stores its blocks as {}", flags.format, dir.string(),
          result.format);
  require(config.vocab_size > 1, "{}: a vocabulary of {} tokens is too small to benchmark",
          dir.string(), config.vocab_size);

  result.prefill_s = time_prefill(head, span, config, flags.prompt);
  time_decode(head, span, flags.tokens, result);
  result.peak_rss = peak_rss();

  // Bytes a decode step must read: every block weight, the LM head and one
  // embedding row.
  result.bytes_per_token = static_cast<double>(span.weight_bytes()) +
                           static_cast<double>(config.vocab_size) *
                               kernels::row_bytes(head.lm_head_format(), config.hidden_size);
  result.threads = kernels::ThreadPool::global().threads();
  result.read_bandwidth = read_bandwidth(bandwidth_buffer(), result.threads, 3);
  print_engine_report(flags, span, result);
}

}  // namespace

void add_engine_command(CLI::App& bench) {
  auto flags = std::make_shared<EngineBenchFlags>();
  auto* cmd = bench.add_subcommand(
      "engine", "Decode and prefill speed of the whole model at one weight format, with RSS");
  cmd->add_option("--model", flags->model,
                  "Checkpoint directory (default: a temporary random Llama, dim 1024, 12 layers, "
                  "vocab 32000, stored as --format or as f32 for int8/int4)");
  cmd->add_option("--format", flags->format, "f32 | bf16 | f16 (as stored) | int8 | int4")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "f16", "int8", "int4"}));
  cmd->add_option("--threads", flags->engine.threads,
                  "Compute threads (default: the number of cores)");
  cmd->add_option("--tokens", flags->tokens, "Decode steps to time")->capture_default_str();
  cmd->add_option("--prompt", flags->prompt, "Prompt tokens for the prefill timing")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object");
  cmd->callback([flags] { run_engine_bench(*flags); });
}

}  // namespace brigade::bench
