#pragma once
// Choosing the chain of servers a session runs through: a sequence of hops
// whose spans tile blocks [0, num_blocks) exactly, each hop using all or part
// of one server's span, chosen to minimise the expected per-token latency.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "dht/server_record.h"

namespace brigade {

struct RouteHop {
  std::string peer;
  std::string public_key;  // raw, to verify the server's signatures
  std::string address;     // as announced
  std::string family;
  int start = 0;
  int end = 0;
  // One token through one block, in ms: as announced, or as the client
  // measured it when slower (client/swarm_map.h). Sets the hop's deadlines.
  double compute_ms_per_block = 0;
  double rtt_ms = 0;  // the client's round trip to the server, as measured
};

struct RouteCosts {
  // Measured client<->server round trips by peer; unmeasured peers cost
  // `default_rtt_ms`.
  std::map<std::string, double> client_rtt_ms;
  double default_rtt_ms = 50;
  // Push mode: one round trip to the first server, then server-to-server
  // hops (announced family pings, else half a client RTT each way), then the
  // last server's answer. Relay mode: a client round trip per hop.
  bool push = false;
};

struct RouteRequest {
  int first_block = 0;  // the route covers [first_block, num_blocks)
  int num_blocks = 0;
  int64_t cache_tokens_needed = 0;  // batch x max_length
  std::set<std::string> excluded;   // banned peers
  // Only servers announcing this weight format (exactness holds per
  // format); empty: any format.
  std::string weight_format;
};

// Throws Error naming the blocks no usable server covers and, for each server
// that announces one of them, why it is unusable: offline, another weight
// format, excluded, cache too small for the request (needed and left),
// unreachable.
std::vector<RouteHop> plan_route(const std::vector<ServerRecord>& servers,
                                 const RouteRequest& request, const RouteCosts& costs);

// The weight format a session routes through, given `formats` (the
// `--formats` flag): "any" gives "" (every format); a format name gives
// itself; "" gives the format most online servers announce among those whose
// servers cover every block of [0, num_blocks) (ties: the smaller name), or
// the most announced one when no format covers every block.
std::string choose_weight_format(const std::vector<ServerRecord>& servers,
                                 const std::string& formats, int num_blocks);

// Expected per-token latency of `route` under `costs`, as plan_route scores it.
double route_cost_ms(const std::vector<RouteHop>& route, const std::vector<ServerRecord>& servers,
                     const RouteCosts& costs);

}  // namespace brigade
