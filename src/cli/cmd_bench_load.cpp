// Server load benchmarks, both on a local swarm of real server processes:
//
// `brigade bench load`: --sessions clients at once, each generating --tokens
// tokens greedily from its own prompt through --servers servers (in-process
// clients: SwarmBlockRunner + generate). Every client's ids are checked
// against the local engine; reports aggregate tokens/s and the per-step
// latency percentiles a client sees.
//
// `brigade bench sessions`: --sessions sessions one after another against
// one server, each a few steps long, and the server's resident memory
// (VmRSS) before and after: a session that leaks shows up as growth.

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/proc_status.h"
#include "client/remote_session.h"
#include "client/swarm_runner.h"
#include "dht/swarm_directory.h"
#include "model/checkpoint.h"
#include "model/kv_cache.h"
#include "model/local_runner.h"
#include "model/make_model.h"
#include "net/channels.h"
#include "net/identity.h"
#include "swarm/local_swarm.h"
#include "util/error.h"
#include "util/log.h"
#include "util/temp_dir.h"

namespace brigade::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// `model` if given, else a tiny random model made in `work`.
std::filesystem::path model_or_tiny(const std::string& model, const TempDir& work, int layers) {
  if (!model.empty()) return std::filesystem::absolute(model);
  MakeModelOptions m;
  m.layers = layers;
  m.hidden = 64;
  m.intermediate = 160;
  m.heads = 4;
  m.kv_heads = 2;
  m.vocab = 256;
  m.max_position_embeddings = 512;
  m.tokenizer = false;
  m.seed = 5;
  make_model(m, work / "model");
  return work / "model";
}

std::unique_ptr<LocalSwarm> start_swarm(const std::filesystem::path& model, int layers, int servers,
                                        const TempDir& work,
                                        std::vector<std::string> server_args = {}) {
  LocalSwarmOptions options;
  options.binary = self_binary();
  options.model_dir = model;
  options.servers = even_spans(layers, servers);
  for (auto& spec : options.servers) spec.extra_args = server_args;
  options.log_dir = work / "logs";
  return std::make_unique<LocalSwarm>(options);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

// A distinct prompt per client.
std::vector<int32_t> prompt_of(int client, int length, int vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < length; ++i) ids.push_back(3 + (client * 31 + i * 7) % (vocab - 3));
  return ids;
}

int64_t vm_rss_kib(int pid) { return proc_status_kib(std::to_string(pid), "VmRSS"); }

rpc::InfoResponse server_info(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = rpc::Brigade::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  rpc::InfoResponse info;
  const grpc::Status status = stub->Info(&context, rpc::InfoRequest{}, &info);
  require(status.ok(), "Info failed: {}", status.error_message());
  return info;
}

// Waits until the server holds no session (they end asynchronously).
rpc::InfoResponse wait_until_idle(const std::shared_ptr<grpc::Channel>& channel) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  rpc::InfoResponse info = server_info(channel);
  while (info.sessions() != 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    info = server_info(channel);
  }
  return info;
}

}  // namespace

void add_bench_load_command(CLI::App& bench) {
  struct Flags {
    int sessions = 32;
    int tokens = 64;
    int servers = 3;
    int prompt_tokens = 8;
    int layers = 6;
    std::string model;
    bool no_push = false;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = bench.add_subcommand(
      "load", "Many concurrent sessions through a local swarm: tokens/s, step latency, exactness");
  cmd->add_option("--sessions", flags->sessions, "Concurrent clients")->capture_default_str();
  cmd->add_option("--tokens", flags->tokens, "New tokens per client")->capture_default_str();
  cmd->add_option("--servers", flags->servers, "Servers in the swarm")->capture_default_str();
  cmd->add_option("--prompt-tokens", flags->prompt_tokens, "Prompt length per client")
      ->capture_default_str();
  cmd->add_option("--model", flags->model, "Checkpoint (default: a tiny random one)");
  cmd->add_option("--layers", flags->layers, "Blocks of the tiny model")->capture_default_str();
  cmd->add_flag("--no-push", flags->no_push, "Relay mode: clients forward every hop's output");
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of a table");
  cmd->callback([flags] {
    init_logging("bench");
    require(flags->sessions >= 1 && flags->tokens >= 2 && flags->servers >= 1 &&
                flags->prompt_tokens >= 1,
            "--sessions >= 1, --tokens >= 2, --servers >= 1 and --prompt-tokens >= 1");
    TempDir work("brigade-bench-load");
    const auto model = model_or_tiny(flags->model, work, std::max(flags->layers, flags->servers));
    const ModelConfig config = ModelConfig::load(model);
    const auto checkpoint = Checkpoint::open(model);
    const ModelHead head(config, *checkpoint);
    const int max_length = flags->prompt_tokens + flags->tokens;
    require(max_length <= config.max_position_embeddings,
            "--prompt-tokens + --tokens exceed the model's {} positions",
            config.max_position_embeddings);
    auto request_for = [&](int client) {
      GenerationRequest request;
      request.prompt_ids = prompt_of(client, flags->prompt_tokens, config.vocab_size);
      request.max_new_tokens = flags->tokens;
      request.stop_at_eos = false;
      return request;
    };

    // The reference: every client's ids from the local engine.
    std::vector<std::vector<int32_t>> expected(flags->sessions);
    {
      const BlockSpan all(config, *checkpoint, 0, config.num_hidden_layers);
      for (int c = 0; c < flags->sessions; ++c) {
        LocalBlockRunner local(all, 1, max_length);
        expected[c] = generate(head, nullptr, local, request_for(c)).ids;
      }
    }

    auto swarm = start_swarm(model, config.num_hidden_layers, flags->servers, work);
    const ExpectedModel model_expected = expected_model(open_manifest(model, config, *checkpoint));
    struct Client {
      std::vector<int32_t> ids;
      std::vector<double> step_ms;  // decode steps: one token each
      double first_token_ms = 0;    // prefill + the first token
      double setup_s = 0;           // joining the DHT, routing, opening the sessions
      size_t recoveries = 0;
      std::string error;
    };
    std::vector<Client> clients(flags->sessions);
    // Every client first joins the swarm and opens its sessions; then all
    // generate at once, and only that phase is timed.
    std::barrier ready(flags->sessions + 1);
    std::vector<std::thread> threads;
    const auto setup_began = Clock::now();
    for (int c = 0; c < flags->sessions; ++c) {
      threads.emplace_back([&, c] {
        Client& client = clients[c];
        std::unique_ptr<SwarmBlockRunner> runner;
        const auto setup_began = Clock::now();
        try {
          SwarmOptions options;
          options.initial_peers = {parse_host_port(swarm->dht_address(), "dht")};
          options.push = !flags->no_push;
          options.step_timeout = std::chrono::milliseconds(60000);
          runner =
              std::make_unique<SwarmBlockRunner>(config, model_expected, options, 1, max_length);
        } catch (const std::exception& e) {
          client.error = e.what();
        }
        client.setup_s = seconds_since(setup_began);
        ready.arrive_and_wait();
        if (!runner) return;
        try {
          GenerationRequest request = request_for(c);
          request.on_token = [&](int index, int32_t, const std::string&, double ms) {
            if (index == 0) {
              client.first_token_ms = ms;
            } else {
              client.step_ms.push_back(ms);
            }
          };
          client.ids = generate(head, nullptr, *runner, request).ids;
          client.recoveries = runner->recoveries().size();
        } catch (const std::exception& e) {
          client.error = e.what();
        }
      });
    }
    ready.arrive_and_wait();
    const double setup_s = seconds_since(setup_began);
    const auto began = Clock::now();
    for (auto& t : threads) t.join();
    const double generate_s = seconds_since(began);

    int errors = 0, mismatches = 0;
    size_t recoveries = 0;
    std::vector<double> steps, first_tokens, setups;
    for (int c = 0; c < flags->sessions; ++c) {
      const Client& client = clients[c];
      setups.push_back(client.setup_s);
      if (!client.error.empty()) {
        ++errors;
        spdlog::error("client {}: {}", c, client.error);
        continue;
      }
      if (client.ids != expected[c]) {
        ++mismatches;
        spdlog::error("client {}: ids differ from the local engine's", c);
      }
      recoveries += client.recoveries;
      steps.insert(steps.end(), client.step_ms.begin(), client.step_ms.end());
      first_tokens.push_back(client.first_token_ms);
    }
    const double tokens = static_cast<double>(flags->sessions - errors) * flags->tokens;
    nlohmann::json out = {{"sessions", flags->sessions},
                          {"tokens_per_session", flags->tokens},
                          {"prompt_tokens", flags->prompt_tokens},
                          {"servers", flags->servers},
                          {"blocks", config.num_hidden_layers},
                          {"hidden", config.hidden_size},
                          {"push", !flags->no_push},
                          {"setup_s", setup_s},
                          {"client_setup_s_p50", percentile(setups, 0.5)},
                          {"generate_s", generate_s},
                          {"tokens_per_s", tokens / generate_s},
                          {"step_ms_p50", percentile(steps, 0.50)},
                          {"step_ms_p99", percentile(steps, 0.99)},
                          {"step_ms_max", percentile(steps, 1.0)},
                          {"first_token_ms_p50", percentile(first_tokens, 0.50)},
                          {"errors", errors},
                          {"mismatches", mismatches},
                          {"recoveries", recoveries}};
    if (flags->json) {
      std::cout << out.dump() << std::endl;
    } else {
      std::cout << fmt::format(
          "{} sessions x {} tokens through {} servers ({} blocks, hidden {}, {})\n"
          "  setup       {:.1f} s until every client had joined (p50 per client {:.2f} s)\n"
          "  aggregate   {:8.1f} tokens/s over {:.2f} s\n"
          "  step        p50 {:.2f} ms   p99 {:.2f} ms   max {:.2f} ms\n"
          "  first token p50 {:.2f} ms (prefill of {} tokens)\n"
          "  errors {}   ids differing from the local engine {}   recoveries {}\n",
          flags->sessions, flags->tokens, flags->servers, config.num_hidden_layers,
          config.hidden_size, flags->no_push ? "relay" : "push", setup_s, percentile(setups, 0.5),
          tokens / generate_s, generate_s, percentile(steps, 0.5), percentile(steps, 0.99),
          percentile(steps, 1.0), percentile(first_tokens, 0.5), flags->prompt_tokens, errors,
          mismatches, recoveries);
    }
    require(errors == 0 && mismatches == 0, "{} clients failed and {} got wrong ids", errors,
            mismatches);
  });
}

void add_bench_sessions_command(CLI::App& bench) {
  struct Flags {
    int sessions = 1000;
    int steps = 4;
    int warmup = 20;
    int max_length = 128;
    std::string model;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = bench.add_subcommand(
      "sessions", "Server memory (VmRSS) before and after many sequential sessions");
  cmd->add_option("--sessions", flags->sessions, "Sessions, one after another")
      ->capture_default_str();
  cmd->add_option("--steps", flags->steps, "Steps per session (a prefill, then single tokens)")
      ->capture_default_str();
  cmd->add_option("--warmup", flags->warmup,
                  "Sessions run before the first reading (allocator and gRPC warm-up)")
      ->capture_default_str();
  cmd->add_option("--max-length", flags->max_length,
                  "Tokens each session reserves (its KV cache is allocated whole at open, so a "
                  "leaked session would show as that much memory)")
      ->capture_default_str();
  cmd->add_option("--model", flags->model, "Checkpoint (default: a tiny random one)");
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of a table");
  cmd->callback([flags] {
    init_logging("bench");
    require(flags->sessions >= 1 && flags->steps >= 1 && flags->warmup >= 0 &&
                flags->max_length >= 3 + flags->steps,
            "--sessions >= 1, --steps >= 1, --warmup >= 0 and --max-length >= 3 + --steps");
    TempDir work("brigade-bench-sessions");
    const auto model = model_or_tiny(flags->model, work, 2);
    const ModelConfig config = ModelConfig::load(model);
    auto swarm = start_swarm(model, config.num_hidden_layers, 1, work);
    const int pid = swarm->server(0).pid();
    auto channel = grpc::CreateCustomChannel(
        swarm->server_address(0), grpc::InsecureChannelCredentials(), channel_arguments());
    const rpc::InfoResponse info = server_info(channel);
    const int64_t capacity = info.cache_tokens_left();
    RouteHop hop;
    hop.peer = info.peer();
    hop.public_key = from_hex(info.public_key());
    hop.address = swarm->server_address(0);
    hop.start = 0;
    hop.end = config.num_hidden_layers;
    SessionParams params;
    params.max_length = flags->max_length;
    params.hidden_size = config.hidden_size;

    auto run_sessions = [&](int count) {
      for (int s = 0; s < count; ++s) {
        RemoteSession session(hop, channel, params);
        int position = 0;
        for (int step = 0; step < flags->steps; ++step) {
          const int tokens = step == 0 ? 4 : 1;
          std::vector<float> values(static_cast<size_t>(tokens) * config.hidden_size);
          for (size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * ((i + s + step) % 17);
          session.send_step(
              step, position,
              make_wire_tensor(values, {1, tokens, config.hidden_size}, rpc::WIRE_F32));
          session.wait_result(step);
          position += tokens;
        }
      }
      wait_until_idle(channel);
    };
    const size_t kv_bytes =
        KvCache::bytes_for(config.num_hidden_layers, 1, config.num_key_value_heads, config.head_dim,
                           flags->max_length);
    const int64_t cold_kib = vm_rss_kib(pid);
    run_sessions(flags->warmup);
    const int64_t before_kib = vm_rss_kib(pid);
    const auto began = Clock::now();
    run_sessions(flags->sessions);
    const double seconds = seconds_since(began);
    const rpc::InfoResponse end = wait_until_idle(channel);
    const int64_t after_kib = vm_rss_kib(pid);
    const double ratio = static_cast<double>(after_kib) / static_cast<double>(before_kib);
    const double per_session_bytes =
        1024.0 * static_cast<double>(after_kib - before_kib) / flags->sessions;
    nlohmann::json out = {{"sessions", flags->sessions},
                          {"steps_per_session", flags->steps},
                          {"max_length", flags->max_length},
                          {"kv_cache_bytes_per_session", kv_bytes},
                          {"warmup_sessions", flags->warmup},
                          {"seconds", seconds},
                          {"sessions_per_s", flags->sessions / seconds},
                          {"rss_cold_kib", cold_kib},
                          {"rss_before_kib", before_kib},
                          {"rss_after_kib", after_kib},
                          {"rss_ratio", ratio},
                          {"growth_bytes_per_session", per_session_bytes},
                          {"sessions_open_after", end.sessions()},
                          {"cache_tokens_left_after", end.cache_tokens_left()},
                          {"cache_tokens", capacity}};
    if (flags->json) {
      std::cout << out.dump() << std::endl;
    } else {
      std::cout << fmt::format(
          "{} sessions x {} steps against one server in {:.1f} s ({:.0f} sessions/s), "
          "{} KiB of KV cache each\n"
          "  server VmRSS  cold {} KiB, before {} KiB (after {} warm-up sessions), after {} KiB\n"
          "  after / before = {:.3f}   ({:+.0f} bytes per session)\n"
          "  open sessions after: {}, cache tokens left {} of {}\n",
          flags->sessions, flags->steps, seconds, flags->sessions / seconds, kv_bytes / 1024,
          cold_kib, before_kib, flags->warmup, after_kib, ratio, per_session_bytes, end.sessions(),
          end.cache_tokens_left(), capacity);
    }
    require(end.sessions() == 0 && end.cache_tokens_left() == capacity,
            "the server still holds {} sessions and {} of {} cache tokens after the run",
            end.sessions(), capacity - end.cache_tokens_left(), capacity);
  });
}

}  // namespace brigade::cli
