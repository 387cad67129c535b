#pragma once
// Everything `brigade server` can be told, with the defaults it uses.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernels/format.h"
#include "net/address.h"
#include "net/tls.h"
#include "server/fault_injection.h"

namespace brigade {

struct ServerOptions {
  std::filesystem::path model_dir;
  // Either an explicit span [start, end) ...
  int start = -1;
  int end = -1;
  // ... or the number of consecutive blocks to pick where the swarm is weakest.
  int num_blocks = 0;
  // With num_blocks: how often (on average; each wait is drawn from 0.5x to
  // 1.5x of it, so that servers started together do not move together) the
  // server re-reads the swarm and moves when that raises the throughput of
  // the swarm's weakest block by more than rebalance_margin (0.2 = 20%).
  // Zero: never move. The first pick also waits a random moment of up to
  // rebalance_start_jitter.
  std::chrono::milliseconds rebalance_period{60000};
  double rebalance_margin = 0.2;
  std::chrono::milliseconds rebalance_start_jitter{1000};

  HostPort listen{"127.0.0.1", 0};  // gRPC endpoint; port 0 picks a free one
  // Where /metrics is served (Prometheus text format); unset: nowhere.
  std::optional<HostPort> metrics_listen;
  std::vector<HostPort> initial_peers;  // DHT bootstrap nodes
  std::string announce;                 // address others dial; default: listen host + bound port
  std::filesystem::path identity_file;  // Ed25519 key, created when missing; empty: ephemeral
  std::string family;                   // e.g. machines on one LAN (a routing hint)
  std::string name;                     // free text shown by `brigade status`
  // The model's name for people (`status`'s MODEL column); empty: config.json's
  // "_name_or_path". Never identity: the manifest's model id is.
  std::string model_name;

  // Load-time quantization of the blocks (--quant); kNone computes in the
  // checkpoint's stored format.
  kernels::Quant quant = kernels::Quant::kNone;

  // KV-cache budget in tokens (batch x max_length summed over open sessions).
  int64_t cache_tokens = 16384;
  // How long an open waits for cache to be freed before "cache full".
  // Shorter than a client's open deadline (2 s, client/deadlines.h), so that
  // the client hears "cache full" rather than silence. Sessions that have
  // been idle for idle_under_pressure already are closed as soon as an open
  // queues, so a hog's cache comes free within the wait.
  std::chrono::milliseconds alloc_wait{1500};
  // Sessions idle this long are closed and their cache freed.
  std::chrono::seconds session_timeout{120};

  // Fair use (DESIGN.md): what one client may cost, and all of them together.
  // A client is one connection. The defaults let one client process run 32
  // sessions at once over one channel, as the load test does.
  //
  // Open sessions of one client; more are refused at once.
  int max_sessions_per_peer = 64;
  // The share of cache_tokens one client's sessions may reserve together; at
  // the default no client can keep the others out.
  double peer_cache_share = 0.5;
  // A session holding cache must keep using it: while opens wait for cache,
  // sessions idle longer than this are closed, the longest idle first, until
  // the waiters' need is covered.
  std::chrono::milliseconds idle_under_pressure{10000};
  // Opens waiting for cache, served first come, first served; one more is
  // refused at once ("cache full, N opens already waiting").
  int max_waiting_opens = 64;

  // A stream (Inference or Forward) must send its first message within this,
  // and a Forward stream each next one, or the server cancels it: a silent
  // stream holds a server thread.
  std::chrono::milliseconds open_timeout{5000};
  // Inference and Forward streams at once, over all clients and per client;
  // one more is refused at once (RESOURCE_EXHAUSTED), its thread freed. The
  // server's thread quota is set above max_streams.
  int max_streams = 512;
  int max_streams_per_peer = 128;

  // Bytes of unfinished tensors (the chunks of a step or Forward input whose
  // last chunk has not arrived) held at once over all streams; a chunk past
  // it is refused and its stream ended. A tensor sent in one message never
  // counts.
  size_t max_pending_bytes = size_t{256} << 20;

  // Continuous batching (server/step_batcher.h): steps of different sessions
  // ready at the same time run in one forward pass of at most
  // `max_batch_tokens` tokens, a long step advancing at most
  // `compute_chunk_tokens` per pass and then queueing behind the others: a
  // long prefill delays another client's decode step by one pass, not by its
  // whole length. Results are bitwise the same, batched or not, chunked or
  // not. A larger pass serves more sessions per read of the weights and makes
  // each of its steps wait longer.
  int max_batch_tokens = 256;
  int compute_chunk_tokens = 64;
  // How long a pass waits for the steps of sequences that ran in the last
  // second when fewer are queued (an upstream's pushes of one pass arrive one
  // after another); a server with one session never waits.
  std::chrono::microseconds batch_gather{5000};
  // DHT record lifetime; records are refreshed every third of it.
  std::chrono::seconds record_ttl{30};
  // TLS bound to the identity, or plaintext (`--plaintext`; net/tls.h).
  Transport transport = Transport::kTls;
  // Test-only failures (see fault_injection.h); none by default.
  FaultPlan fault;
};

}  // namespace brigade
