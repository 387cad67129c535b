#include "client/swarm_map.h"

#include <algorithm>

namespace brigade {

SwarmMap::SwarmMap(SwarmView initial, RouteNeeds needs, Reader read, Pinger ping)
    : view_(std::move(initial)),
      needs_(std::move(needs)),
      read_(std::move(read)),
      ping_(std::move(ping)),
      weight_format_(choose_weight_format(view_.servers, needs_.formats, needs_.num_blocks)) {
  costs_.push = needs_.push;
  measure_new_rtts();
}

void SwarmMap::measure_new_rtts() {
  for (const auto& server : view_.servers) {
    if (server.state == ServerState::kOnline && !costs_.client_rtt_ms.count(server.peer)) {
      costs_.client_rtt_ms[server.peer] = ping_(server.address);
    }
  }
}

void SwarmMap::refresh() {
  SwarmView fresh = read_();
  if (!fresh.servers.empty()) view_ = std::move(fresh);
  measure_new_rtts();
}

std::vector<RouteHop> SwarmMap::plan(int first_block, int end_block,
                                     const std::set<std::string>& excluded) const {
  RouteRequest request;
  request.first_block = first_block;
  request.num_blocks = end_block;
  request.cache_tokens_needed = needs_.cache_tokens_needed;
  request.excluded = excluded;
  request.weight_format = weight_format_;
  auto route = plan_route(view_.servers, request, costs_);
  // A route may end past end_block only if a server's span does; trim it.
  std::vector<RouteHop> out;
  for (auto hop : route) {
    if (hop.start >= end_block) break;
    hop.end = std::min(hop.end, end_block);
    out.push_back(hop);
  }
  return out;
}

}  // namespace brigade
