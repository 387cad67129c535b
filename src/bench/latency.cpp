// `brigade bench latency`: per-token latency over an emulated wide-area
// network, relay mode against push mode against the latency floor, all
// measured in one run on the same swarm.

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/commands.h"
#include "bench/wan.h"
#include "cli/commands.h"
#include "model/config.h"
#include "model/make_model.h"
#include "swarm/local_swarm.h"
#include "util/error.h"
#include "util/log.h"
#include "util/temp_dir.h"

namespace brigade::bench {
namespace {

struct LatencyFlags {
  int servers = 4;
  double client_rtt_ms = 100;
  double server_rtt_ms = 2;
  int tokens = 20;
  std::string model;
  int layers = 8;
  int hidden = 256;
  bool json = false;
  bool plaintext = false;  // servers and client without TLS, to measure what it costs
};

struct ModeResult {
  double per_token_ms = 0;
  double compute_ms = 0;
  std::vector<int> ids;
};

ModeResult run_generate(const std::vector<std::string>& base_args, bool push) {
  std::vector<std::string> args = base_args;
  if (!push) args.push_back("--no-push");
  const CommandResult r = run_command(args, std::chrono::seconds(600));
  require(r.exit_code == 0, "brigade generate ({}) failed with {}:\n{}", push ? "push" : "relay",
          r.exit_code, r.err);
  const auto j = nlohmann::json::parse(r.out);
  return {j["timings"]["per_token_ms"].get<double>(),
          j["timings"]["server_compute_ms"].get<double>(), j["new_ids"].get<std::vector<int>>()};
}

// --model if given, else a random model of --layers (at least one per
// server) and --hidden made in `work`.
std::filesystem::path latency_model(const LatencyFlags& flags, const TempDir& work) {
  if (!flags.model.empty()) return flags.model;
  const std::filesystem::path model = work / "model";
  MakeModelOptions m = wan_model_options(std::max(flags.layers, flags.servers), flags.hidden);
  m.seed = 11;
  make_model(m, model);
  return model;
}

void print_latency_report(const LatencyFlags& flags, const ModelConfig& config,
                          const ModeResult& relay, const ModeResult& push) {
  const double compute = push.compute_ms;
  const double floor =
      flags.client_rtt_ms + compute + (flags.servers - 1) * flags.server_rtt_ms / 2;
  nlohmann::json out = {{"servers", flags.servers},
                        {"client_rtt_ms", flags.client_rtt_ms},
                        {"server_rtt_ms", flags.server_rtt_ms},
                        {"tokens", flags.tokens},
                        {"transport", flags.plaintext ? "plaintext" : "tls"},
                        {"blocks", config.num_hidden_layers},
                        {"hidden", config.hidden_size},
                        {"compute_ms", compute},
                        {"relay_ms", relay.per_token_ms},
                        {"push_ms", push.per_token_ms},
                        {"floor_ms", floor},
                        {"push_over_floor", push.per_token_ms / floor},
                        {"relay_over_push", relay.per_token_ms / push.per_token_ms}};
  if (flags.json) {
    std::cout << out.dump() << std::endl;
    return;
  }
  std::cout << fmt::format(
      "N={} servers, client RTT {} ms, server RTT {} ms, {} tokens, {} blocks of hidden {}, {}\n"
      "  relay  {:8.1f} ms/token\n"
      "  push   {:8.1f} ms/token\n"
      "  floor  {:8.1f} ms/token  (R + compute {:.1f} + (N-1)*D/2)\n"
      "  push / floor = {:.3f}   relay / push = {:.2f}x\n",
      flags.servers, flags.client_rtt_ms, flags.server_rtt_ms, flags.tokens,
      config.num_hidden_layers, config.hidden_size, flags.plaintext ? "plaintext" : "TLS",
      relay.per_token_ms, push.per_token_ms, floor, compute, push.per_token_ms / floor,
      relay.per_token_ms / push.per_token_ms);
}

void run_latency_bench(const LatencyFlags& flags) {
  init_logging("bench");
  require(flags.servers >= 1 && flags.tokens >= 2, "--servers >= 1 and --tokens >= 2");
  require(flags.client_rtt_ms >= 0 && flags.server_rtt_ms >= 0, "RTTs must be >= 0");
  const TempDir work("brigade-bench-latency");
  const std::filesystem::path model = latency_model(flags, work);
  const ModelConfig config = ModelConfig::load(model);
  LocalSwarmOptions options;
  options.binary = cli::self_binary();
  options.model_dir = std::filesystem::absolute(model);
  options.servers = even_spans(config.num_hidden_layers, flags.servers);
  if (flags.plaintext) {
    for (auto& server : options.servers) server.extra_args.push_back("--plaintext");
  }
  options.log_dir = work / "logs";
  LocalSwarm swarm(options);
  const WanLinks links = emulate_wan(swarm, {flags.client_rtt_ms}, flags.server_rtt_ms);

  std::vector<std::string> args = {cli::self_binary(),
                                   "generate",
                                   "--model",
                                   model.string(),
                                   "--initial-peers",
                                   swarm.dht_address(),
                                   "--prompt-ids",
                                   "1,5,9,14,20,3,7,11",
                                   "--max-new-tokens",
                                   std::to_string(flags.tokens),
                                   "--json"};
  args.insert(args.end(), links.generate_args.begin(), links.generate_args.end());
  if (flags.plaintext) args.push_back("--plaintext");
  const ModeResult relay = run_generate(args, false);
  const ModeResult push = run_generate(args, true);
  require(relay.ids == push.ids, "relay and push generated different tokens");
  print_latency_report(flags, config, relay, push);
}

}  // namespace

void add_latency_command(CLI::App& bench) {
  auto flags = std::make_shared<LatencyFlags>();
  auto* cmd =
      bench.add_subcommand("latency",
                           "Per-token latency with emulated WAN links: relay vs push vs the floor "
                           "R + sum(compute) + (N-1)*D/2");
  cmd->add_option("--servers", flags->servers, "Servers in the chain (N)")->capture_default_str();
  cmd->add_option("--client-rtt-ms", flags->client_rtt_ms, "Client<->server round trip (R)")
      ->capture_default_str();
  cmd->add_option("--server-rtt-ms", flags->server_rtt_ms, "Server<->server round trip (D)")
      ->capture_default_str();
  cmd->add_option("--tokens", flags->tokens, "New tokens per mode (T)")->capture_default_str();
  cmd->add_option("--model", flags->model, "Checkpoint (default: a random one made for the run)");
  cmd->add_option("--layers", flags->layers, "Blocks of the random model")->capture_default_str();
  cmd->add_option("--hidden", flags->hidden, "Hidden size of the random model")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json,
                R"(Print {"relay_ms", "push_ms", "floor_ms", ...} instead of a table)");
  cmd->add_flag("--plaintext", flags->plaintext,
                "Servers and client without TLS (compare with a run without it: what TLS costs)");
  cmd->callback([flags] { run_latency_bench(*flags); });
}

}  // namespace brigade::bench
