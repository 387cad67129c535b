#include "client/swarm_map.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "util/parallel_map.h"

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
  std::vector<const ServerRecord*> fresh;
  std::set<std::string> peers;
  for (const auto& server : view_.servers) {
    if (server.state == ServerState::kOnline && !costs_.client_rtt_ms.count(server.peer) &&
        peers.insert(server.peer).second) {
      fresh.push_back(&server);
    }
  }
  const auto rtts = parallel_map(fresh.size(), 64, [&](size_t i) { return ping_(*fresh[i]); });
  for (size_t i = 0; i < fresh.size(); ++i) costs_.client_rtt_ms[fresh[i]->peer] = rtts[i];
}

void SwarmMap::observe(const std::string& peer, double ms_per_block) {
  if (!(ms_per_block >= 0) || !std::isfinite(ms_per_block)) return;
  auto [it, fresh] = measured_ms_per_block_.emplace(peer, ms_per_block);
  // Smoothed: one lucky or unlucky step does not decide.
  if (!fresh) it->second = (it->second + ms_per_block) / 2;
}

std::vector<ServerRecord> SwarmMap::credible_servers() const {
  std::optional<double> fastest_measured;
  for (const auto& [peer, ms] : measured_ms_per_block_) {
    if (!fastest_measured || ms < *fastest_measured) fastest_measured = ms;
  }
  std::vector<ServerRecord> out = view_.servers;
  for (auto& server : out) {
    auto it = measured_ms_per_block_.find(server.peer);
    if (it != measured_ms_per_block_.end()) {
      server.compute_ms_per_block = std::max(server.compute_ms_per_block, it->second);
    } else if (fastest_measured) {
      // Unproven: a hair slower than the fastest proven server, so that
      // among equals the route goes through servers seen working.
      server.compute_ms_per_block = std::max(server.compute_ms_per_block, *fastest_measured * 1.01);
    }
  }
  return out;
}

void SwarmMap::refresh(Reping reping) {
  SwarmView fresh = read_();
  if (!fresh.servers.empty()) view_ = std::move(fresh);
  if (reping == Reping::kUnanswered) {
    std::erase_if(costs_.client_rtt_ms, [](const auto& rtt) { return !std::isfinite(rtt.second); });
  }
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
  auto route = plan_route(credible_servers(), request, costs_);
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
