#pragma once
// An emulated wide-area network around a local swarm, for the benchmarks
// that time what round trips cost (`bench latency`, `bench recovery`):
// every link gets its latency from a user-space proxy, and `generate` is
// told to dial the proxies.

#include <memory>
#include <string>
#include <vector>

#include "net/latency_proxy.h"
#include "swarm/local_swarm.h"

namespace brigade::bench {

// Every link of the path gets its latency: client<->server i through
// client_proxies[i] (half its round trip each way), server->server i
// through server_proxies[i].
struct WanLinks {
  std::vector<std::unique_ptr<LatencyProxy>> client_proxies, server_proxies;
  // The `generate` flags that route through them.
  std::vector<std::string> generate_args() const;

  std::string connect_via, push_via;
};

// Client round trip `client_rtt_ms[i]` to server i (the last value for
// servers past the list), `server_rtt_ms` between servers.
WanLinks emulate_wan(const LocalSwarm& swarm, const std::vector<double>& client_rtt_ms,
                     double server_rtt_ms);

}  // namespace brigade::bench
