// `brigade bench recovery`: what a server failure costs a generation. For
// each --history length a fresh local swarm of real server processes runs
// behind emulated WAN links (bench/wan.h): the first half of the blocks on
// one server, the second half on a server that crashes after its third
// answer and on a spare the client reaches 20 ms slower (so that it starts
// on the one that crashes). The prompt is the history; the crash comes two
// tokens later, and the client replays the whole history of the failed span
// into the spare as one step. Reports the pause that token saw against the
// other tokens, the recovery's own time and the replay's compute, and checks
// every run's tokens against `brigade run`.

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/commands.h"
#include "bench/timing.h"
#include "bench/wan.h"
#include "cli/commands.h"
#include "model/config.h"
#include "model/make_model.h"
#include "util/error.h"
#include "util/log.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace brigade::bench {
namespace {

struct RecoveryFlags {
  std::vector<int> history = {64, 256, 1024};
  double client_rtt_ms = 100;
  double server_rtt_ms = 2;
  int tokens = 8;
  int layers = 8;
  int hidden = 256;
  bool json = false;
};

// A random model with room for the longest history.
std::filesystem::path recovery_model(const RecoveryFlags& flags, const TempDir& work) {
  const std::filesystem::path model = work / "model";
  MakeModelOptions m = wan_model_options(std::max(2, flags.layers), flags.hidden);
  m.max_position_embeddings =
      *std::max_element(flags.history.begin(), flags.history.end()) + flags.tokens;
  m.tokenizer = false;
  m.seed = 13;
  make_model(m, model);
  return model;
}

std::string prompt_ids(int history) {
  std::string ids;
  for (int i = 0; i < history; ++i) ids += (i ? "," : "") + std::to_string(3 + (i * 37) % 500);
  return ids;
}

struct RecoveryRun {
  int history = 0;
  nlohmann::json recovery;  // the generation's recovery event
  double affected_ms = 0;   // latency of the token whose step saw the failure
  double typical_ms = 0;    // median latency of the other decode tokens
  bool exact = false;       // the tokens equal `brigade run`'s
};

// Reads `generate --jsonl`: the recovery, the token after it, the others.
void read_events(const std::string& out, RecoveryRun* run, std::vector<int>* ids) {
  std::istringstream lines(out);
  std::string line;
  std::vector<double> others;
  bool after_recovery = false, affected_seen = false;
  while (std::getline(lines, line)) {
    const auto e = nlohmann::json::parse(line);
    const std::string kind = e.value("event", "");
    if (kind == "recovery") {
      run->recovery = e;
      after_recovery = true;
    } else if (kind == "token" && e.at("index").get<int>() > 0) {
      if (after_recovery && !affected_seen) {
        run->affected_ms = e.at("ms").get<double>();
        affected_seen = true;
      } else {
        others.push_back(e.at("ms").get<double>());
      }
    } else if (kind == "done") {
      *ids = e.at("new_ids").get<std::vector<int>>();
    }
  }
  require(affected_seen, "the generation recovered from nothing:\n{}", out);
  run->typical_ms = percentile(others, 0.5);
}

RecoveryRun run_history(const RecoveryFlags& flags, const std::filesystem::path& model,
                        const ModelConfig& config, int history, const TempDir& work) {
  const int half = config.num_hidden_layers / 2;
  LocalSwarmOptions options;
  options.binary = cli::self_binary();
  options.model_dir = std::filesystem::absolute(model);
  options.servers = {{0, half, {}},
                     {half, config.num_hidden_layers, {"--fault", "crash-after:3"}},
                     {half, config.num_hidden_layers, {}}};
  options.log_dir = work / fmt::format("logs-{}", history);
  LocalSwarm swarm(options);
  const WanLinks links =
      emulate_wan(swarm, {flags.client_rtt_ms, flags.client_rtt_ms, flags.client_rtt_ms + 20},
                  flags.server_rtt_ms);

  const std::string ids = prompt_ids(history);
  std::vector<std::string> args = {cli::self_binary(), "generate",
                                   "--model",          model.string(),
                                   "--initial-peers",  swarm.dht_address(),
                                   "--prompt-ids",     ids,
                                   "--max-new-tokens", std::to_string(flags.tokens),
                                   "--jsonl"};
  args.insert(args.end(), links.generate_args.begin(), links.generate_args.end());
  const CommandResult g = run_command(args, std::chrono::seconds(600));
  require(g.exit_code == 0, "brigade generate (history {}) failed with {}:\n{}", history,
          g.exit_code, g.err);
  RecoveryRun run;
  run.history = history;
  std::vector<int> swarm_ids;
  read_events(g.out, &run, &swarm_ids);

  const CommandResult local =
      run_command({cli::self_binary(), "run", "--model", model.string(), "--prompt-ids", ids,
                   "--max-new-tokens", std::to_string(flags.tokens), "--json"},
                  std::chrono::seconds(600));
  require(local.exit_code == 0, "brigade run failed with {}:\n{}", local.exit_code, local.err);
  run.exact = nlohmann::json::parse(local.out).at("new_ids").get<std::vector<int>>() == swarm_ids;
  return run;
}

nlohmann::json run_json(const RecoveryRun& r) {
  const double pause = r.affected_ms - r.typical_ms;
  const double replay_compute = r.recovery.at("replay_compute_ms").get<double>();
  return {{"history", r.history},
          {"replayed_tokens", r.recovery.at("replayed_tokens")},
          {"replay_steps", r.recovery.at("replay_steps")},
          {"replay_compute_ms", replay_compute},
          {"recovery_ms", r.recovery.at("ms")},
          {"affected_token_ms", r.affected_ms},
          {"typical_token_ms", r.typical_ms},
          {"pause_ms", pause},
          {"pause_minus_replay_compute_ms", pause - replay_compute},
          {"exact", r.exact}};
}

void run_recovery_bench(const RecoveryFlags& flags) {
  init_logging("bench");
  require(!flags.history.empty() &&
              *std::min_element(flags.history.begin(), flags.history.end()) >= 1 &&
              flags.tokens >= 4,
          "--history lengths >= 1 and --tokens >= 4 (the crash comes at the third new token)");
  const TempDir work("brigade-bench-recovery");
  const std::filesystem::path model = recovery_model(flags, work);
  const ModelConfig config = ModelConfig::load(model);
  nlohmann::json runs = nlohmann::json::array();
  bool exact = true;
  for (int history : flags.history) {
    const RecoveryRun run = run_history(flags, model, config, history, work);
    runs.push_back(run_json(run));
    exact = exact && run.exact;
  }
  if (flags.json) {
    std::cout << nlohmann::json{{"client_rtt_ms", flags.client_rtt_ms},
                                {"server_rtt_ms", flags.server_rtt_ms},
                                {"blocks", config.num_hidden_layers},
                                {"hidden", config.hidden_size},
                                {"runs", runs}}
                     .dump()
              << std::endl;
  } else {
    std::cout << fmt::format(
        "a server of 2 killed mid-generation, client RTT {} ms, server RTT {} ms, {} blocks of "
        "hidden {}\n  history  replayed  steps  replay compute ms  recovery ms  pause ms  "
        "(token ms: affected / typical)  exact\n",
        flags.client_rtt_ms, flags.server_rtt_ms, config.num_hidden_layers, config.hidden_size);
    for (const auto& r : runs) {
      std::cout << fmt::format(
          "  {:7d}  {:8d}  {:5d}  {:17.1f}  {:11.1f}  {:8.1f}  ({:.1f} / {:.1f})  {}\n",
          r["history"].get<int>(), r["replayed_tokens"].get<int>(), r["replay_steps"].get<int>(),
          r["replay_compute_ms"].get<double>(), r["recovery_ms"].get<double>(),
          r["pause_ms"].get<double>(), r["affected_token_ms"].get<double>(),
          r["typical_token_ms"].get<double>(), r["exact"].get<bool>() ? "yes" : "NO");
    }
  }
  require(exact, "a recovered generation's tokens differ from brigade run's");
}

}  // namespace

void add_recovery_command(CLI::App& bench) {
  auto flags = std::make_shared<RecoveryFlags>();
  auto* cmd = bench.add_subcommand(
      "recovery",
      "A server killed mid-generation over emulated WAN links: the pause, the replay's compute, "
      "exact tokens");
  cmd->add_option("--history", flags->history, "Prompt lengths, one run each (64,256,1024)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--client-rtt-ms", flags->client_rtt_ms, "Client<->server round trip")
      ->capture_default_str();
  cmd->add_option("--server-rtt-ms", flags->server_rtt_ms, "Server<->server round trip")
      ->capture_default_str();
  cmd->add_option("--tokens", flags->tokens, "New tokens per run (the crash is at the third)")
      ->capture_default_str();
  cmd->add_option("--layers", flags->layers, "Blocks of the random model")->capture_default_str();
  cmd->add_option("--hidden", flags->hidden, "Hidden size of the random model")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of a table");
  cmd->callback([flags] { run_recovery_bench(*flags); });
}

}  // namespace brigade::bench
