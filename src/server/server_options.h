#pragma once
// Everything `brigade server` can be told, with the defaults it uses.

#include <chrono>
#include <cstdint>
#include <filesystem>
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

  HostPort listen{"127.0.0.1", 0};      // gRPC endpoint; port 0 picks a free one
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
  std::chrono::milliseconds alloc_wait{3000};
  // Sessions idle this long are closed and their cache freed.
  std::chrono::seconds session_timeout{120};
  // DHT record lifetime; records are refreshed every third of it.
  std::chrono::seconds record_ttl{30};
  // TLS bound to the identity, or plaintext (`--plaintext`; net/tls.h).
  Transport transport = Transport::kTls;
  // Test-only failures (see fault_injection.h); none by default.
  FaultPlan fault;
};

}  // namespace brigade
