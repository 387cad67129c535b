// `brigade server`: hosts a span of blocks for the swarm.

#include <cstdio>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/transport_flag.h"
#include "server/server.h"
#include "util/error.h"
#include "util/log.h"
#include "util/signals.h"

namespace brigade::cli {

void add_server_command(CLI::App& app) {
  struct Flags {
    std::string model, blocks, listen = "127.0.0.1:0", initial_peers, identity, family, name,
                               model_name, announce, fault;
    int num_blocks = 0;
    // The defaults are ServerOptions'.
    int64_t cache_tokens = ServerOptions{}.cache_tokens;
    int64_t session_timeout_s = ServerOptions{}.session_timeout.count();
    int64_t record_ttl_s = ServerOptions{}.record_ttl.count();
    EngineFlags engine;
    bool plaintext = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("server", "Serve a span of blocks to the swarm until stopped");
  cmd->add_option("--model", flags->model, "Checkpoint directory (config.json + safetensors)")
      ->required();
  auto* blocks = cmd->add_option("--blocks", flags->blocks, "Blocks to serve, A:B (B exclusive)");
  auto* num = cmd->add_option("--num-blocks", flags->num_blocks,
                              "Serve K consecutive blocks where the swarm is weakest");
  blocks->excludes(num);
  cmd->add_option("--listen", flags->listen, "gRPC HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--initial-peers", flags->initial_peers, "DHT nodes HOST:PORT[,...]")->required();
  cmd->add_option("--identity", flags->identity, "Ed25519 key file, created when missing");
  cmd->add_option("--family", flags->family, "Family hint, e.g. machines on one LAN");
  cmd->add_option("--name", flags->name, "Free text shown by `brigade status`");
  cmd->add_option("--model-name", flags->model_name,
                  "The model's name shown by `brigade status` (default: config.json's "
                  "_name_or_path; never identity)");
  add_engine_flags(cmd, flags->engine);
  cmd->add_option("--cache-tokens", flags->cache_tokens, "KV-cache budget in tokens")
      ->capture_default_str();
  cmd->add_option("--announce", flags->announce,
                  "HOST:PORT others should dial (default: --listen)");
  cmd->add_option("--session-timeout", flags->session_timeout_s,
                  "Close sessions idle this long (s)")
      ->capture_default_str();
  cmd->add_option("--record-ttl", flags->record_ttl_s, "DHT record lifetime (s)")
      ->capture_default_str();
  add_transport_flag(cmd, flags->plaintext);
  cmd->add_option("--fault", flags->fault,
                  "Test-only failure: crash-after:K | stall-after:K | corrupt-outputs | "
                  "corrupt-pushes | refuse-sessions");
  cmd->callback([flags] {
    init_logging("server");
    ServerOptions options;
    options.model_dir = flags->model;
    options.quant = apply_engine_flags(flags->engine);
    if (!flags->blocks.empty()) {
      const auto colon = flags->blocks.find(':');
      require(colon != std::string::npos, "--blocks: '{}' is not A:B", flags->blocks);
      try {
        options.start = std::stoi(flags->blocks.substr(0, colon));
        options.end = std::stoi(flags->blocks.substr(colon + 1));
      } catch (const std::exception&) {
        fail("--blocks: '{}' is not A:B", flags->blocks);
      }
    } else {
      require(flags->num_blocks > 0, "give --blocks A:B or --num-blocks K (K >= 1)");
      options.num_blocks = flags->num_blocks;
    }
    options.listen = parse_host_port(flags->listen, "--listen");
    options.initial_peers = parse_host_port_list(flags->initial_peers, "--initial-peers");
    require(!options.initial_peers.empty(), "--initial-peers is empty");
    if (!flags->announce.empty()) parse_host_port(flags->announce, "--announce");
    options.announce = flags->announce;
    options.identity_file = flags->identity;
    options.family = flags->family;
    options.name = flags->name;
    options.model_name = flags->model_name;
    require(flags->cache_tokens > 0, "--cache-tokens must be positive");
    options.cache_tokens = flags->cache_tokens;
    require(flags->session_timeout_s > 0 && flags->record_ttl_s >= 3,
            "--session-timeout must be > 0 and --record-ttl >= 3");
    options.session_timeout = std::chrono::seconds(flags->session_timeout_s);
    options.record_ttl = std::chrono::seconds(flags->record_ttl_s);
    options.fault = FaultPlan::parse(flags->fault);
    options.transport = transport_of(flags->plaintext);

    block_termination_signals();
    Server server(options);
    std::printf("serving blocks %d:%d at %s as peer %s of model %s\n", server.start(), server.end(),
                server.address().c_str(), server.peer_id().c_str(), server.model_id().c_str());
    std::fflush(stdout);
    wait_for_termination_signal();
    server.shutdown();
    std::printf("server stopped\n");
  });
}

}  // namespace brigade::cli
