// `brigade bench load`: --sessions clients at once, each generating --tokens
// tokens greedily from its own prompt through --servers servers of a local
// swarm of real server processes (in-process clients: SwarmBlockRunner +
// generate). Every client's ids are checked against the local engine;
// reports aggregate tokens/s and the per-step latency percentiles a client
// sees. Several session counts (`--sessions 1,8,32`) run one after another
// on the same swarm, with the engine's compute roof measured in the same
// run: what continuous batching gains, and how far it is from the cores'
// arithmetic rate. `--shape tinyllama` makes a realistic span to measure.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <barrier>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/commands.h"
#include "bench/compute_roof.h"
#include "bench/swarm_setup.h"
#include "bench/timing.h"
#include "client/swarm_runner.h"
#include "dht/swarm_directory.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/local_runner.h"
#include "model/make_model.h"
#include "net/channels.h"
#include "util/error.h"
#include "util/log.h"
#include "util/temp_dir.h"

namespace brigade::bench {
namespace {

struct LoadFlags {
  std::vector<int> sessions = {32};  // a run per count, in order
  std::string shape = "tiny";        // of the model made when --model is not given
  int tokens = 64;
  int servers = 3;
  int prompt_tokens = 8;
  int layers = 6;
  int server_threads = 0;  // each server's compute pool; 0: the cores
  std::string model;
  bool no_push = false;
  bool plaintext = false;  // servers and clients without TLS, to measure what it costs
  bool json = false;
};

// What the clients share: the flags, the model and where the swarm is.
struct LoadTarget {
  const LoadFlags& flags;
  int sessions = 0;  // in this run
  const ModelConfig& config;
  const ModelHead& head;
  ExpectedModel model;
  std::string dht_address;
  int max_length = 0;  // prompt and new tokens
};

// One client's run.
struct Client {
  std::vector<int32_t> ids;
  std::vector<double> step_ms;  // decode steps: one token each
  double first_token_ms = 0;    // prefill + the first token
  double setup_s = 0;           // joining the DHT, routing, opening the sessions
  size_t recoveries = 0;
  std::string error;
};

// Every client's run and the wall time of the two phases.
struct LoadRun {
  std::vector<Client> clients;
  double setup_s = 0;     // until every client had joined
  double generate_s = 0;  // from then until every client was done
};

// A distinct prompt per client.
std::vector<int32_t> prompt_of(int client, int length, int vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < length; ++i) ids.push_back(3 + (client * 31 + i * 7) % (vocab - 3));
  return ids;
}

GenerationRequest request_for(const LoadFlags& flags, const ModelConfig& config, int client) {
  GenerationRequest request;
  request.prompt_ids = prompt_of(client, flags.prompt_tokens, config.vocab_size);
  request.max_new_tokens = flags.tokens;
  request.stop_at_eos = false;
  return request;
}

// The reference: every client's ids from the local engine.
std::vector<std::vector<int32_t>> local_ids(const LoadFlags& flags, const ModelConfig& config,
                                            const Checkpoint& checkpoint, const ModelHead& head,
                                            int max_length) {
  const int sessions = *std::max_element(flags.sessions.begin(), flags.sessions.end());
  std::vector<std::vector<int32_t>> expected(sessions);
  const BlockSpan all(config, checkpoint, 0, config.num_hidden_layers);
  for (int c = 0; c < sessions; ++c) {
    LocalBlockRunner local(all, 1, max_length);
    expected[c] = generate(head, nullptr, local, request_for(flags, config, c)).ids;
  }
  return expected;
}

// Client `c`'s thread: joins the swarm and opens its sessions, waits at
// `ready` for every other client, then generates.
void run_client(const LoadTarget& target, int c, std::barrier<>& ready, Client& client) {
  std::unique_ptr<SwarmBlockRunner> runner;
  const auto setup_began = Clock::now();
  try {
    SwarmOptions options;
    options.initial_peers = {parse_host_port(target.dht_address, "dht")};
    options.push = !target.flags.no_push;
    if (target.flags.plaintext) options.transport = Transport::kPlaintext;
    // Many sessions queue on each server: a load run measures throughput,
    // not how fast a stalled server is replaced.
    options.deadlines.floor = std::chrono::milliseconds(10000);
    options.deadlines.cap = std::chrono::milliseconds(60000);
    runner = std::make_unique<SwarmBlockRunner>(target.config, target.model, options, 1,
                                                target.max_length);
  } catch (const std::exception& e) {
    client.error = e.what();
  }
  client.setup_s = seconds_since(setup_began);
  ready.arrive_and_wait();
  if (!runner) return;
  try {
    GenerationRequest request = request_for(target.flags, target.config, c);
    request.on_token = [&](int index, int32_t, const std::string&, double ms) {
      if (index == 0) {
        client.first_token_ms = ms;
      } else {
        client.step_ms.push_back(ms);
      }
    };
    client.ids = generate(target.head, nullptr, *runner, request).ids;
    client.recoveries = runner->recoveries().size();
  } catch (const std::exception& e) {
    client.error = e.what();
  }
}

// Every client first joins the swarm and opens its sessions; then all
// generate at once, and only that phase is timed.
LoadRun run_clients(const LoadTarget& target) {
  LoadRun run;
  run.clients.resize(target.sessions);
  std::barrier ready(target.sessions + 1);
  std::vector<std::thread> threads;
  const auto setup_began = Clock::now();
  for (int c = 0; c < target.sessions; ++c) {
    threads.emplace_back([&, c] { run_client(target, c, ready, run.clients[c]); });
  }
  ready.arrive_and_wait();
  run.setup_s = seconds_since(setup_began);
  const auto began = Clock::now();
  for (auto& t : threads) t.join();
  run.generate_s = seconds_since(began);
  return run;
}

// What the clients saw, over every client.
struct LoadSummary {
  int errors = 0;      // clients that failed
  int mismatches = 0;  // clients whose ids differ from the local engine's
  size_t recoveries = 0;
  std::vector<double> steps, first_tokens, setups;  // ms, ms, s
};

// Checks every client's ids against `expected`, logging each failure.
LoadSummary summarize(const LoadRun& run, const std::vector<std::vector<int32_t>>& expected) {
  LoadSummary summary;
  for (size_t c = 0; c < run.clients.size(); ++c) {
    const Client& client = run.clients[c];
    summary.setups.push_back(client.setup_s);
    if (!client.error.empty()) {
      ++summary.errors;
      spdlog::error("client {}: {}", c, client.error);
      continue;
    }
    if (client.ids != expected[c]) {
      ++summary.mismatches;
      spdlog::error("client {}: ids differ from the local engine's", c);
    }
    summary.recoveries += client.recoveries;
    summary.steps.insert(summary.steps.end(), client.step_ms.begin(), client.step_ms.end());
    summary.first_tokens.push_back(client.first_token_ms);
  }
  return summary;
}

nlohmann::json report_of(const LoadFlags& flags, const ModelConfig& config, int sessions,
                         const LoadRun& run, const LoadSummary& s) {
  const double tokens = static_cast<double>(sessions - s.errors) * flags.tokens;
  return {{"sessions", sessions},
          {"tokens_per_session", flags.tokens},
          {"prompt_tokens", flags.prompt_tokens},
          {"servers", flags.servers},
          {"blocks", config.num_hidden_layers},
          {"hidden", config.hidden_size},
          {"push", !flags.no_push},
          {"transport", flags.plaintext ? "plaintext" : "tls"},
          {"setup_s", run.setup_s},
          {"client_setup_s_p50", percentile(s.setups, 0.5)},
          {"generate_s", run.generate_s},
          {"tokens_per_s", tokens / run.generate_s},
          {"step_ms_p50", percentile(s.steps, 0.50)},
          {"step_ms_p99", percentile(s.steps, 0.99)},
          {"step_ms_max", percentile(s.steps, 1.0)},
          {"first_token_ms_p50", percentile(s.first_tokens, 0.50)},
          {"errors", s.errors},
          {"mismatches", s.mismatches},
          {"recoveries", s.recoveries}};
}

void print_run(const nlohmann::json& r) {
  std::cout << fmt::format(
      "{} sessions x {} tokens through {} servers ({} blocks, hidden {}, {})\n"
      "  setup       {:.1f} s until every client had joined (p50 per client {:.2f} s)\n"
      "  aggregate   {:8.1f} tokens/s over {:.2f} s\n"
      "  step        p50 {:.2f} ms   p99 {:.2f} ms   max {:.2f} ms\n"
      "  first token p50 {:.2f} ms (prefill of {} tokens)\n"
      "  errors {}   ids differing from the local engine {}   recoveries {}\n",
      r["sessions"].get<int>(), r["tokens_per_session"].get<int>(), r["servers"].get<int>(),
      r["blocks"].get<int>(), r["hidden"].get<int>(), r["push"].get<bool>() ? "push" : "relay",
      r["setup_s"].get<double>(), r["client_setup_s_p50"].get<double>(),
      r["tokens_per_s"].get<double>(), r["generate_s"].get<double>(),
      r["step_ms_p50"].get<double>(), r["step_ms_p99"].get<double>(),
      r["step_ms_max"].get<double>(), r["first_token_ms_p50"].get<double>(),
      r["prompt_tokens"].get<int>(), r["errors"].get<int>(), r["mismatches"].get<int>(),
      r["recoveries"].get<size_t>());
}

// The model to load: --model, or one made in `work` of --shape.
std::filesystem::path load_model(const LoadFlags& flags, const TempDir& work) {
  if (!flags.model.empty() || flags.shape == "tiny") {
    return model_or_tiny(flags.model, work, std::max(flags.layers, flags.servers));
  }
  require(flags.shape == "tinyllama", "--shape must be tiny or tinyllama, got '{}'", flags.shape);
  // TinyLlama-1.1B's shape in bf16: 2.2 GB, a realistic span per server.
  MakeModelOptions m;
  m.layers = 22;
  m.hidden = 2048;
  m.intermediate = 5632;
  m.heads = 32;
  m.kv_heads = 4;
  m.vocab = 32000;
  m.max_position_embeddings = 2048;
  m.dtype = DType::BF16;
  m.tokenizer = false;
  m.seed = 11;
  std::fprintf(stderr, "making a TinyLlama-shaped bf16 model (2.2 GB) in %s ...\n",
               work.path().c_str());
  make_model(m, work / "model");
  return work / "model";
}

void run_load_bench(const LoadFlags& flags) {
  init_logging("bench");
  require(!flags.sessions.empty() &&
              *std::min_element(flags.sessions.begin(), flags.sessions.end()) >= 1 &&
              flags.tokens >= 2 && flags.servers >= 1 && flags.prompt_tokens >= 1,
          "--sessions >= 1, --tokens >= 2, --servers >= 1 and --prompt-tokens >= 1");
  TempDir work("brigade-bench-load");
  const auto model = load_model(flags, work);
  const ModelConfig config = ModelConfig::load(model);
  const auto checkpoint = Checkpoint::open(model);
  const ModelHead head(config, *checkpoint);
  const int max_length = flags.prompt_tokens + flags.tokens;
  require(max_length <= config.max_position_embeddings,
          "--prompt-tokens + --tokens exceed the model's {} positions",
          config.max_position_embeddings);
  std::fprintf(stderr, "computing every client's ids on the local engine ...\n");
  const auto expected = local_ids(flags, config, *checkpoint, head, max_length);
  const ComputeRoof roof = measure_compute_roof(config, *checkpoint);

  std::vector<std::string> server_args;
  if (flags.plaintext) server_args.push_back("--plaintext");
  if (flags.server_threads > 0) {
    server_args.insert(server_args.end(), {"--threads", std::to_string(flags.server_threads)});
  }
  auto swarm = start_swarm(model, config.num_hidden_layers, flags.servers, work, server_args);
  nlohmann::json runs = nlohmann::json::array();
  int failed = 0;
  const ExpectedModel expected_id = expected_model(open_manifest(model, config, *checkpoint));
  for (int sessions : flags.sessions) {
    const LoadTarget target{flags,     sessions, config, head, expected_id, swarm->dht_address(),
                            max_length};
    const LoadRun run = run_clients(target);
    const LoadSummary summary = summarize(run, expected);
    runs.push_back(report_of(flags, config, sessions, run, summary));
    if (!flags.json) print_run(runs.back());
    failed += summary.errors + summary.mismatches;
  }
  const nlohmann::json roof_json = {
      {"rows", roof.rows}, {"gflops", roof.flops_per_s / 1e9}, {"tokens_per_s", roof.tokens_per_s}};
  if (flags.json) {
    nlohmann::json out = runs.size() == 1 ? runs[0] : nlohmann::json{{"runs", runs}};
    out["compute_roof"] = roof_json;
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << fmt::format(
        "compute roof: {:.1f} GFLOP/s at {} tokens a pass = {:.1f} tokens/s of this model\n",
        roof.flops_per_s / 1e9, roof.rows, roof.tokens_per_s);
    for (const auto& r : runs) {
      std::cout << fmt::format(
          "  {:3d} sessions: {:8.1f} tokens/s = {:.2f}x the first run, "
          "{:.0f}% of the roof\n",
          r["sessions"].get<int>(), r["tokens_per_s"].get<double>(),
          r["tokens_per_s"].get<double>() / runs[0]["tokens_per_s"].get<double>(),
          100 * r["tokens_per_s"].get<double>() / roof.tokens_per_s);
    }
  }
  require(failed == 0, "{} clients failed or got wrong ids", failed);
}

}  // namespace

void add_load_command(CLI::App& bench) {
  auto flags = std::make_shared<LoadFlags>();
  auto* cmd = bench.add_subcommand(
      "load", "Many concurrent sessions through a local swarm: tokens/s, step latency, exactness");
  cmd->add_option("--sessions", flags->sessions,
                  "Concurrent clients; a list (1,8,32) runs each count in turn on one swarm")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--shape", flags->shape,
                  "Model to make without --model: tiny (hidden 64) or tinyllama (hidden 2048, 22 "
                  "blocks, 32/4 heads, vocab 32000, bf16)")
      ->capture_default_str();
  cmd->add_option("--tokens", flags->tokens, "New tokens per client")->capture_default_str();
  cmd->add_option("--servers", flags->servers, "Servers in the swarm")->capture_default_str();
  cmd->add_option("--prompt-tokens", flags->prompt_tokens, "Prompt length per client")
      ->capture_default_str();
  cmd->add_option("--model", flags->model, "Checkpoint (default: a tiny random one)");
  cmd->add_option("--layers", flags->layers, "Blocks of the tiny model")->capture_default_str();
  cmd->add_option("--server-threads", flags->server_threads,
                  "Each server's compute pool (--threads); 0: the cores")
      ->capture_default_str();
  cmd->add_flag("--no-push", flags->no_push, "Relay mode: clients forward every hop's output");
  cmd->add_flag("--plaintext", flags->plaintext,
                "Servers and clients without TLS (compare with a run without it: what TLS costs)");
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of a table");
  cmd->callback([flags] { run_load_bench(*flags); });
}

}  // namespace brigade::bench
