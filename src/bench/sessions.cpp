// `brigade bench sessions`: --sessions sessions one after another against
// one server of a local swarm of real server processes, each a few steps
// long, and the server's resident memory (VmRSS) before and after: a session
// that leaks shows up as growth.

#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/commands.h"
#include "bench/proc_status.h"
#include "bench/swarm_setup.h"
#include "bench/timing.h"
#include "client/deadlines.h"
#include "client/remote_session.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "net/channels.h"
#include "net/identity.h"
#include "util/error.h"
#include "util/log.h"
#include "util/temp_dir.h"

namespace brigade::bench {
namespace {

struct SessionsFlags {
  int sessions = 1000;
  int steps = 4;
  int warmup = 20;
  int max_length = 128;
  std::string model;
  bool json = false;
};

// The server's memory and state around the timed sessions.
struct SessionsRun {
  int64_t cold_kib = 0;    // VmRSS before any session
  int64_t before_kib = 0;  // after the warm-up sessions
  int64_t after_kib = 0;   // after the timed sessions
  double seconds = 0;      // of the timed sessions
  int64_t capacity = 0;    // cache tokens of the idle server
  rpc::InfoResponse end;   // the server's info once idle after them
};

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

// The one hop of a route through every block of the server `info` describes.
RouteHop whole_model_hop(const rpc::InfoResponse& info, const std::string& address, int layers) {
  RouteHop hop;
  hop.peer = info.peer();
  hop.public_key = from_hex(info.public_key());
  hop.address = address;
  hop.start = 0;
  hop.end = layers;
  return hop;
}

// Runs `count` sessions of --steps steps (a 4-token prefill, then single
// tokens) one after another through `hop`, then waits until the server has
// ended them all.
void run_sessions(const SessionsFlags& flags, const ModelConfig& config, const RouteHop& hop,
                  const std::shared_ptr<grpc::Channel>& channel, int count) {
  SessionParams params;
  params.max_length = flags.max_length;
  params.hidden_size = config.hidden_size;
  Watchdog watchdog;
  for (int s = 0; s < count; ++s) {
    RemoteSession session(hop, channel, params, kDefaultStepTimeout, watchdog);
    int position = 0;
    for (int step = 0; step < flags.steps; ++step) {
      const int tokens = step == 0 ? 4 : 1;
      std::vector<float> values(static_cast<size_t>(tokens) * config.hidden_size);
      for (size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * ((i + s + step) % 17);
      session.send_step(step, position,
                        make_wire_tensor(values, {1, tokens, config.hidden_size}, rpc::WIRE_F32));
      session.wait_result(step, kDefaultStepTimeout);
      position += tokens;
    }
  }
  wait_until_idle(channel);
}

// Reads the server's VmRSS cold, after --warmup sessions and after
// --sessions timed ones.
SessionsRun measure_sessions(const SessionsFlags& flags, const ModelConfig& config,
                             LocalSwarm& swarm) {
  const int pid = swarm.server(0).pid();
  auto channel = dial(swarm.server_address(0), kAnyPeer, channel_arguments());
  const rpc::InfoResponse info = server_info(channel);
  const RouteHop hop = whole_model_hop(info, swarm.server_address(0), config.num_hidden_layers);
  SessionsRun run;
  run.capacity = info.cache_tokens_left();
  run.cold_kib = vm_rss_kib(pid);
  run_sessions(flags, config, hop, channel, flags.warmup);
  run.before_kib = vm_rss_kib(pid);
  const auto began = Clock::now();
  run_sessions(flags, config, hop, channel, flags.sessions);
  run.seconds = seconds_since(began);
  run.end = wait_until_idle(channel);
  run.after_kib = vm_rss_kib(pid);
  return run;
}

// Reports the run; throws if the server still holds sessions or cache.
void report_sessions(const SessionsFlags& flags, const ModelConfig& config,
                     const SessionsRun& run) {
  const size_t kv_bytes = KvCache::bytes_for(
      config.num_hidden_layers, 1, config.num_key_value_heads, config.head_dim, flags.max_length);
  const double ratio = static_cast<double>(run.after_kib) / static_cast<double>(run.before_kib);
  const double per_session_bytes =
      1024.0 * static_cast<double>(run.after_kib - run.before_kib) / flags.sessions;
  const rpc::InfoResponse& end = run.end;
  nlohmann::json out = {{"sessions", flags.sessions},
                        {"steps_per_session", flags.steps},
                        {"max_length", flags.max_length},
                        {"kv_cache_bytes_per_session", kv_bytes},
                        {"warmup_sessions", flags.warmup},
                        {"seconds", run.seconds},
                        {"sessions_per_s", flags.sessions / run.seconds},
                        {"rss_cold_kib", run.cold_kib},
                        {"rss_before_kib", run.before_kib},
                        {"rss_after_kib", run.after_kib},
                        {"rss_ratio", ratio},
                        {"growth_bytes_per_session", per_session_bytes},
                        {"sessions_open_after", end.sessions()},
                        {"cache_tokens_left_after", end.cache_tokens_left()},
                        {"cache_tokens", run.capacity}};
  if (flags.json) {
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << fmt::format(
        "{} sessions x {} steps against one server in {:.1f} s ({:.0f} sessions/s), "
        "{} KiB of KV cache each\n"
        "  server VmRSS  cold {} KiB, before {} KiB (after {} warm-up sessions), after {} KiB\n"
        "  after / before = {:.3f}   ({:+.0f} bytes per session)\n"
        "  open sessions after: {}, cache tokens left {} of {}\n",
        flags.sessions, flags.steps, run.seconds, flags.sessions / run.seconds, kv_bytes / 1024,
        run.cold_kib, run.before_kib, flags.warmup, run.after_kib, ratio, per_session_bytes,
        end.sessions(), end.cache_tokens_left(), run.capacity);
  }
  require(end.sessions() == 0 && end.cache_tokens_left() == run.capacity,
          "the server still holds {} sessions and {} of {} cache tokens after the run",
          end.sessions(), run.capacity - end.cache_tokens_left(), run.capacity);
}

void run_sessions_bench(const SessionsFlags& flags) {
  init_logging("bench");
  require(flags.sessions >= 1 && flags.steps >= 1 && flags.warmup >= 0 &&
              flags.max_length >= 3 + flags.steps,
          "--sessions >= 1, --steps >= 1, --warmup >= 0 and --max-length >= 3 + --steps");
  TempDir work("brigade-bench-sessions");
  const auto model = model_or_tiny(flags.model, work, 2);
  const ModelConfig config = ModelConfig::load(model);
  auto swarm = start_swarm(model, config.num_hidden_layers, 1, work);
  report_sessions(flags, config, measure_sessions(flags, config, *swarm));
}

}  // namespace

void add_sessions_command(CLI::App& bench) {
  auto flags = std::make_shared<SessionsFlags>();
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
  cmd->callback([flags] { run_sessions_bench(*flags); });
}

}  // namespace brigade::bench
