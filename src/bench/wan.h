#pragma once
// An emulated wide-area network around a local swarm, for the benchmarks
// that time what round trips cost (`bench latency`, `bench recovery`):
// every link gets its latency from a user-space proxy, and `generate` is
// told to dial the proxies.

#include <memory>
#include <string>
#include <vector>

#include "model/make_model.h"
#include "net/latency_proxy.h"
#include "swarm/local_swarm.h"

namespace brigade::bench {

// Every link of the path gets its latency: client<->server i through
// client_proxies[i] (half its round trip each way), server->server i
// through server_proxies[i].
struct WanLinks {
  std::vector<std::unique_ptr<LatencyProxy>> client_proxies, server_proxies;
  // The `generate` flags that route through them (--connect-via, --push-via).
  std::vector<std::string> generate_args;
};

// Client round trip `client_rtt_ms[i]` to server i (the last value for
// servers past the list), `server_rtt_ms` between servers.
WanLinks emulate_wan(const LocalSwarm& swarm, const std::vector<double>& client_rtt_ms,
                     double server_rtt_ms);

// The random Llama the WAN benchmarks run: `layers` blocks of width
// `hidden`, intermediate 8/3 of it, a head per 32 dims and half as many KV
// heads, vocab 512. Callers set the seed and what else their run needs.
MakeModelOptions wan_model_options(int layers, int hidden);

}  // namespace brigade::bench
