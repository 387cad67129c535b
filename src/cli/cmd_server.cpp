// `brigade server`: hosts a span of blocks for the swarm.

#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/engine_flags.h"
#include "cli/transport_flag.h"
#include "dht/record_policy.h"
#include "server/server.h"
#include "util/error.h"
#include "util/log.h"
#include "util/signals.h"

namespace brigade::cli {
namespace {

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000; }

// A flag given in (fractional) seconds, which must be positive.
std::chrono::milliseconds positive_ms(double seconds, const char* flag) {
  require(seconds > 0 && seconds < 1e9, "{} must be a positive number of seconds, got {}", flag,
          seconds);
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

}  // namespace

void add_server_command(CLI::App& app) {
  struct Flags {
    std::string model, blocks, listen = "127.0.0.1:0", initial_peers, identity, family, name,
                               model_name, announce, fault, config, metrics_listen;
    int num_blocks = 0;
    // The defaults are ServerOptions'.
    int64_t cache_tokens = ServerOptions{}.cache_tokens;
    int64_t session_timeout_s = ServerOptions{}.session_timeout.count();
    int64_t record_ttl_s = ServerOptions{}.record_ttl.count();
    double alloc_wait_s = seconds(ServerOptions{}.alloc_wait);
    double rebalance_period_s = seconds(ServerOptions{}.rebalance_period);
    double rebalance_margin = ServerOptions{}.rebalance_margin;
    int max_sessions_per_peer = ServerOptions{}.max_sessions_per_peer;
    double peer_cache_share = ServerOptions{}.peer_cache_share;
    double idle_under_pressure_s = seconds(ServerOptions{}.idle_under_pressure);
    int max_waiting_opens = ServerOptions{}.max_waiting_opens;
    double open_timeout_s = seconds(ServerOptions{}.open_timeout);
    int max_streams = ServerOptions{}.max_streams;
    int max_streams_per_peer = ServerOptions{}.max_streams_per_peer;
    size_t max_pending_bytes = ServerOptions{}.max_pending_bytes;
    int compute_chunk_tokens = ServerOptions{}.compute_chunk_tokens;
    int max_batch_tokens = ServerOptions{}.max_batch_tokens;
    double batch_gather_ms = ServerOptions{}.batch_gather.count() / 1000.0;
    EngineFlags engine;
    bool plaintext = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("server", "Serve a span of blocks to the swarm until stopped");
  cmd->add_option("--config", flags->config,
                  "TOML file of these flags without the dashes (model = \"DIR\", num-blocks = 4, "
                  "...); flags given here override it");
  // --model and --initial-peers are required, from the flags or the file.
  cmd->add_option("--model", flags->model, "Checkpoint directory (config.json + safetensors)");
  auto* blocks = cmd->add_option("--blocks", flags->blocks, "Blocks to serve, A:B (B exclusive)");
  auto* num = cmd->add_option("--num-blocks", flags->num_blocks,
                              "Serve K consecutive blocks where the swarm is weakest");
  blocks->excludes(num);
  cmd->add_option("--listen", flags->listen, "gRPC HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--initial-peers", flags->initial_peers, "DHT nodes HOST:PORT[,...]");
  cmd->add_option("--metrics-listen", flags->metrics_listen,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port)");
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
  // Fair use: what one client (one connection) may cost, and all of them.
  cmd->add_option("--rebalance-period", flags->rebalance_period_s,
                  "With --num-blocks: re-read the swarm about this often and move to other "
                  "blocks when that clearly raises its throughput (s; 0: never move)")
      ->capture_default_str();
  cmd->add_option("--rebalance-margin", flags->rebalance_margin,
                  "Move only when the swarm's weakest block gains more than this fraction")
      ->capture_default_str();
  cmd->add_option("--alloc-wait", flags->alloc_wait_s,
                  "How long an open waits for cache before 'cache full' (s)")
      ->capture_default_str();
  cmd->add_option("--max-sessions-per-peer", flags->max_sessions_per_peer,
                  "Open sessions one client may hold")
      ->capture_default_str();
  cmd->add_option("--peer-cache-share", flags->peer_cache_share,
                  "Share of --cache-tokens one client's sessions may reserve (0 < F <= 1)")
      ->capture_default_str();
  cmd->add_option("--idle-under-pressure", flags->idle_under_pressure_s,
                  "While opens wait for cache, close sessions idle this long (s)")
      ->capture_default_str();
  cmd->add_option("--max-waiting-opens", flags->max_waiting_opens,
                  "Opens that may wait for cache at once (first come, first served)")
      ->capture_default_str();
  cmd->add_option("--open-timeout", flags->open_timeout_s,
                  "Cancel a stream that sends nothing for this long before its open (s)")
      ->capture_default_str();
  cmd->add_option("--max-streams", flags->max_streams,
                  "Inference and Forward streams at once, all clients")
      ->capture_default_str();
  cmd->add_option("--max-streams-per-peer", flags->max_streams_per_peer,
                  "Inference and Forward streams at once, one client")
      ->capture_default_str();
  cmd->add_option("--max-pending-bytes", flags->max_pending_bytes,
                  "Bytes of unfinished tensors (chunks awaiting the rest) held at once")
      ->capture_default_str();
  cmd->add_option("--compute-chunk-tokens", flags->compute_chunk_tokens,
                  "Longer steps run in chunks of this many tokens, taking turns with others")
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", flags->max_batch_tokens,
                  "Tokens of all sessions' steps run in one batched forward pass, at most")
      ->capture_default_str();
  cmd->add_option("--batch-gather-ms", flags->batch_gather_ms,
                  "How long a pass waits for the steps of sessions that ran in the last second")
      ->capture_default_str();
  cmd->add_option("--fault", flags->fault,
                  "Test-only failure: crash-after:K | stall-after:K | corrupt-outputs | "
                  "corrupt-pushes | refuse-sessions");
  cmd->callback([flags, cmd] {
    if (!flags->config.empty()) apply_config_file(*cmd, flags->config);
    require(!flags->model.empty(), "--model is required (a flag or the --config file's model)");
    require(!flags->initial_peers.empty(),
            "--initial-peers is required (a flag or the --config file's initial-peers)");
    require(flags->blocks.empty() || flags->num_blocks == 0,
            "--blocks {} and --num-blocks {} exclude each other", flags->blocks, flags->num_blocks);
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
    if (!flags->metrics_listen.empty()) {
      HostPort metrics = parse_host_port(flags->metrics_listen, "--metrics-listen");
      metrics.host = resolve_ipv4(metrics.host, "--metrics-listen");
      options.metrics_listen = metrics;
    }
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
    // Other nodes refuse records that claim to live longer than
    // kMaxRecordLifetimeSeconds (dht/record_policy.h).
    require(flags->session_timeout_s > 0 && flags->record_ttl_s >= 3 &&
                flags->record_ttl_s < kMaxRecordLifetimeSeconds,
            "--session-timeout must be > 0 and --record-ttl at least 3 and under {:.0f}",
            kMaxRecordLifetimeSeconds);
    options.session_timeout = std::chrono::seconds(flags->session_timeout_s);
    options.record_ttl = std::chrono::seconds(flags->record_ttl_s);
    options.alloc_wait = positive_ms(flags->alloc_wait_s, "--alloc-wait");
    require(flags->rebalance_period_s >= 0 && flags->rebalance_period_s < 1e9,
            "--rebalance-period must be >= 0 seconds, got {}", flags->rebalance_period_s);
    options.rebalance_period =
        std::chrono::milliseconds(std::llround(flags->rebalance_period_s * 1000));
    require(flags->rebalance_margin >= 0 && flags->rebalance_margin <= 10,
            "--rebalance-margin must be within [0, 10], got {}", flags->rebalance_margin);
    options.rebalance_margin = flags->rebalance_margin;
    options.idle_under_pressure =
        positive_ms(flags->idle_under_pressure_s, "--idle-under-pressure");
    options.open_timeout = positive_ms(flags->open_timeout_s, "--open-timeout");
    require(flags->peer_cache_share > 0 && flags->peer_cache_share <= 1,
            "--peer-cache-share must be in (0, 1], got {}", flags->peer_cache_share);
    options.peer_cache_share = flags->peer_cache_share;
    require(flags->max_sessions_per_peer >= 1 && flags->max_waiting_opens >= 0 &&
                flags->max_streams >= 1 && flags->max_streams_per_peer >= 1 &&
                flags->compute_chunk_tokens >= 1 && flags->max_batch_tokens >= 1,
            "--max-sessions-per-peer, --max-streams, --max-streams-per-peer, "
            "--compute-chunk-tokens and --max-batch-tokens must be >= 1, --max-waiting-opens >= 0");
    options.max_sessions_per_peer = flags->max_sessions_per_peer;
    options.max_waiting_opens = flags->max_waiting_opens;
    require(flags->max_streams <= 65536, "--max-streams must be at most 65536 (a thread each)");
    options.max_streams = flags->max_streams;
    options.max_streams_per_peer = flags->max_streams_per_peer;
    options.max_pending_bytes = flags->max_pending_bytes;
    options.compute_chunk_tokens = flags->compute_chunk_tokens;
    options.max_batch_tokens = flags->max_batch_tokens;
    require(flags->batch_gather_ms >= 0 && flags->batch_gather_ms <= 1000,
            "--batch-gather-ms must be within [0, 1000], got {}", flags->batch_gather_ms);
    options.batch_gather =
        std::chrono::microseconds(static_cast<int64_t>(flags->batch_gather_ms * 1000));
    options.fault = FaultPlan::parse(flags->fault);
    options.transport = transport_of(flags->plaintext);

    block_termination_signals();
    Server server(options);
    std::printf("serving blocks %d:%d at %s as peer %s of model %s\n", server.start(), server.end(),
                server.address().c_str(), server.peer_id().c_str(), server.model_id().c_str());
    if (const auto metrics = server.metrics_address())
      std::printf("metrics at http://%s/metrics\n", metrics->str().c_str());
    std::fflush(stdout);
    wait_for_termination_signal();
    server.shutdown();
    std::printf("server stopped\n");
  });
}

}  // namespace brigade::cli
