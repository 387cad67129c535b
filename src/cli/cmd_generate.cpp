// `brigade generate`: generation through the swarm. The client holds only
// the embeddings, the final norm, the LM head and the tokenizer.

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/generation_flags.h"
#include "cli/transport_flag.h"
#include "client/swarm_runner.h"
#include "model/checkpoint.h"
#include "model/manifest.h"
#include "model/model_head.h"
#include "net/channels.h"
#include "util/error.h"
#include "util/log.h"

namespace brigade::cli {
namespace {

nlohmann::json route_json(const std::vector<RouteHop>& route) {
  auto out = nlohmann::json::array();
  for (const auto& hop : route) {
    out.push_back(
        {{"peer", hop.peer}, {"address", hop.address}, {"start", hop.start}, {"end", hop.end}});
  }
  return out;
}

nlohmann::json recovery_json(const RecoveryEvent& e) {
  return {{"failed_peer", e.failed_peer},
          {"reason", e.reason},
          {"replacement", route_json(e.replacement)},
          {"replayed_tokens", e.replayed_tokens},
          {"replay_steps", e.replay_steps},
          {"replay_compute_ms", e.replay_compute_ms},
          {"ms", e.ms}};
}

void emit(const nlohmann::json& line) { std::cout << line.dump() << std::endl; }

}  // namespace

void add_generate_command(CLI::App& app) {
  struct Flags {
    GenerationFlags gen;
    std::string model, initial_peers, connect_via, push_via, wire_dtype = "f32";
    std::string formats, model_name;
    // The defaults are SwarmOptions'.
    double wait_for_swarm_s = std::chrono::duration<double>(SwarmOptions{}.wait_for_swarm).count();
    double step_timeout_s = std::chrono::duration<double>(SwarmOptions{}.deadlines.cap).count();
    bool no_push = false;
    bool plaintext = false;
    bool jsonl = false;
    EngineFlags engine;  // for the LM head, the one matrix the client multiplies with
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("generate", "Generate text through the swarm");
  cmd->add_option(
         "--model", flags->model,
         "Checkpoint directory (only embeddings, final norm, LM head and tokenizer are read)")
      ->required();
  cmd->add_option("--initial-peers", flags->initial_peers, "DHT nodes HOST:PORT[,...]")->required();
  add_generation_flags(cmd, flags->gen);
  add_engine_flags(cmd, flags->engine);
  cmd->add_option("--wait-for-swarm", flags->wait_for_swarm_s,
                  "Seconds to wait until every block is served")
      ->capture_default_str();
  cmd->add_option("--step-timeout", flags->step_timeout_s,
                  "Most seconds a server may take for one step before it is replaced (each "
                  "step's deadline is derived from the server's speed and round trip, at most "
                  "this)")
      ->capture_default_str();
  cmd->add_option("--wire-dtype", flags->wire_dtype, "Hidden states on the wire: f32|bf16|f16")
      ->capture_default_str();
  cmd->add_flag("--no-push", flags->no_push,
                "Relay mode: the client forwards every hop's output itself");
  cmd->add_option("--connect-via", flags->connect_via,
                  "Dial another address for a server: ANNOUNCED=DIALLED[,...]");
  cmd->add_option("--push-via", flags->push_via,
                  "Have servers dial another address when pushing to a server: "
                  "ANNOUNCED=DIALLED[,...] (a tunnel between servers)");
  cmd->add_option("--formats", flags->formats,
                  "Weight formats to route through: FORMAT (e.g. bf16) or any (default: the "
                  "format most servers of the model announce)");
  cmd->add_option("--model-name", flags->model_name,
                  "The model's name for people (default: config.json's _name_or_path)");
  add_transport_flag(cmd, flags->plaintext);
  cmd->add_flag("--jsonl", flags->jsonl, "Print one JSON event per line as things happen");
  cmd->callback([flags] {
    init_logging("client");
    const auto quant = apply_engine_flags(flags->engine);
    const auto began = std::chrono::steady_clock::now();
    const ModelConfig config = ModelConfig::load(flags->model);
    const auto checkpoint = Checkpoint::open(flags->model);
    // The model is its manifest: the client's own tensors must match it, and
    // the swarm is searched under its id for servers with its block digests.
    const Manifest manifest = open_manifest(flags->model, config, *checkpoint);
    verify_manifest(manifest, config, *checkpoint, ManifestUse{true, 0, 0});
    const std::string model_name =
        flags->model_name.empty() ? model_name_of(flags->model) : flags->model_name;
    const ModelHead head(config, *checkpoint, quant);
    const auto tokenizer = Tokenizer::open(flags->model);
    GenerationFlags gen = flags->gen;
    if (flags->jsonl) gen.json = true;  // no raw text on stdout
    const auto defaults = GenerationConfig::load(flags->model, config);
    GenerationRequest request = make_request(gen, flags->model, config, defaults, tokenizer.get());

    SwarmOptions options;
    options.initial_peers = parse_host_port_list(flags->initial_peers, "--initial-peers");
    require(!options.initial_peers.empty(), "--initial-peers is empty");
    options.wait_for_swarm =
        std::chrono::milliseconds(static_cast<int64_t>(flags->wait_for_swarm_s * 1000));
    options.deadlines.cap =
        std::chrono::milliseconds(static_cast<int64_t>(flags->step_timeout_s * 1000));
    options.push = !flags->no_push;
    options.transport = transport_of(flags->plaintext);
    options.dtype = parse_wire_dtype(flags->wire_dtype);
    options.connect_via = parse_connect_via(flags->connect_via);
    options.push_via = parse_connect_via(flags->push_via);
    options.formats = flags->formats;
    const int max_length = static_cast<int>(request.prompt_ids.size()) + request.max_new_tokens;
    config.require_context(
        max_length, fmt::format("prompt of {} tokens + {} new tokens =", request.prompt_ids.size(),
                                request.max_new_tokens));
    SwarmBlockRunner runner(config, expected_model(manifest), options, 1, max_length);
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

    if (flags->jsonl) {
      emit({{"event", "route"}, {"route", route_json(runner.route())}});
      request.on_token = [](int index, int32_t id, const std::string& text, double ms) {
        emit({{"event", "token"}, {"index", index}, {"id", id}, {"text", text}, {"ms", ms}});
      };
      runner.on_recovery = [](const RecoveryEvent& e) {
        auto line = recovery_json(e);
        line["event"] = "recovery";
        emit(line);
      };
    }
    const GenerationResult result = generate(head, tokenizer.get(), runner, request);
    nlohmann::json out = result_json(result, request, load_s, flags->gen);
    out["route"] = route_json(runner.route());
    out["model"] = {{"id", manifest.model_id()},
                    {"name", model_name},
                    {"weight_format", runner.weight_format()}};
    out["timings"]["server_compute_ms"] = runner.mean_decode_compute_ms();
    out["push"] = !flags->no_push;
    auto recoveries = nlohmann::json::array();
    for (const auto& e : runner.recoveries()) recoveries.push_back(recovery_json(e));
    if (flags->jsonl) {
      out["event"] = "done";
      out["recoveries"] = recoveries;
      emit(out);
    } else if (flags->gen.json) {
      out["recoveries"] = recoveries;
      emit(out);
    } else {
      std::printf("\n");
    }
  });
}

}  // namespace brigade::cli
