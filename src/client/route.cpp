#include "client/route.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace brigade {
namespace {

const ServerRecord* find_server(const std::vector<ServerRecord>& servers, const std::string& peer) {
  for (const auto& s : servers) {
    if (s.peer == peer) return &s;
  }
  return nullptr;
}

double client_rtt(const RouteCosts& costs, const std::string& peer) {
  auto it = costs.client_rtt_ms.find(peer);
  return it == costs.client_rtt_ms.end() ? costs.default_rtt_ms : it->second;
}

// The cost of entering server `to` after server `from` (nullptr: the client).
double hop_cost(const RouteCosts& costs, const ServerRecord* from, const ServerRecord& to) {
  if (!costs.push) return client_rtt(costs, to.peer);
  if (from == nullptr) return client_rtt(costs, to.peer) / 2;
  auto it = from->next_rtt_ms.find(to.peer);
  if (it != from->next_rtt_ms.end()) return it->second / 2;
  return (client_rtt(costs, from->peer) + client_rtt(costs, to.peer)) / 4;
}

double exit_cost(const RouteCosts& costs, const ServerRecord& last) {
  return costs.push ? client_rtt(costs, last.peer) / 2 : 0;
}

// Why `s` cannot carry this request's route; empty when it can. An
// infinite RTT (no answer to pings) or speed makes a server unusable.
std::string why_unusable(const ServerRecord& s, const RouteRequest& request,
                         const RouteCosts& costs) {
  if (s.state != ServerState::kOnline) return "announced offline";
  if (!request.weight_format.empty() && s.weight_format != request.weight_format) {
    return fmt::format(
        "other weight format (this route uses {}; route through every format "
        "with --formats any)",
        request.weight_format);
  }
  if (request.excluded.count(s.peer)) return "banned or suspected by this client";
  if (s.cache_tokens_left < request.cache_tokens_needed) {
    return fmt::format("cache too small for this request: {} tokens needed, {} left",
                       request.cache_tokens_needed, s.cache_tokens_left);
  }
  if (!std::isfinite(client_rtt(costs, s.peer))) return "unreachable: no answer to pings";
  if (!std::isfinite(s.compute_ms_per_block)) return "announces no finite speed";
  return "";
}

// Throws the error that names the blocks no usable server covers and, per
// server that announces one of them, why it is unusable.
[[noreturn]] void fail_uncovered(
    const std::vector<const ServerRecord*>& usable,
    const std::vector<std::pair<const ServerRecord*, std::string>>& unusable,
    const RouteRequest& request) {
  const int n = request.num_blocks;
  std::vector<int> covered(n, 0);
  for (const auto* s : usable) {
    for (int b = std::max(0, s->start); b < std::min(s->end, n); ++b) covered[b] = 1;
  }
  std::vector<int> missing;
  for (int b = request.first_block; b < n; ++b) {
    if (!covered[b]) missing.push_back(b);
  }
  std::vector<std::string> candidates;
  for (const auto& [server, why] : unusable) {
    const ServerRecord& s = *server;  // (lambdas may not capture a structured binding in C++20)
    const bool covers_missing = std::any_of(missing.begin(), missing.end(),
                                            [&](int b) { return b >= s.start && b < s.end; });
    if (!covers_missing) continue;
    candidates.push_back(fmt::format("{} ({}, blocks [{}, {})) at {}: {}", s.peer, s.weight_format,
                                     s.start, s.end, s.address, why));
  }
  fail("no route covers every block: no usable server for blocks [{}]{}; {}",
       fmt::join(missing, ", "),
       request.weight_format.empty() ? ""
                                     : fmt::format(" of weight format {}", request.weight_format),
       candidates.empty()
           ? std::string("no server announces them")
           : fmt::format("servers that announce them: {}", fmt::join(candidates, "; ")));
}

}  // namespace

std::vector<RouteHop> plan_route(const std::vector<ServerRecord>& servers,
                                 const RouteRequest& request, const RouteCosts& costs) {
  const int n = request.num_blocks;
  const int first = request.first_block;
  require(first >= 0 && first < n, "route: blocks [{}, {}) are empty", first, n);
  std::vector<const ServerRecord*> usable;
  std::vector<std::pair<const ServerRecord*, std::string>> unusable;  // for the error below
  for (const auto& s : servers) {
    const std::string why = why_unusable(s, request, costs);
    if (why.empty()) {
      usable.push_back(&s);
    } else {
      unusable.emplace_back(&s, why);
    }
  }
  // best[b]: cheapest way to have run blocks [0, b), ending at server last[b]
  // (the transition cost depends on the previous server, so the state is
  // (boundary, last server)).
  const double inf = std::numeric_limits<double>::infinity();
  const size_t m = usable.size();
  std::vector<std::vector<double>> best(n + 1, std::vector<double>(m, inf));
  std::vector<std::vector<std::pair<int, int>>> from(n + 1,
                                                     std::vector<std::pair<int, int>>(m, {-1, -1}));
  std::vector<double> start_cost(m);
  for (int b = first; b < n; ++b) {
    for (size_t j = 0; j < m; ++j) {
      const ServerRecord& s = *usable[j];
      if (b < s.start || b >= s.end) continue;
      // Candidates for the previous server: none (b == 0) or any i with best[b][i] finite.
      double base = inf;
      int prev = -1;
      if (b == first) {
        base = hop_cost(costs, nullptr, s);
      } else {
        for (size_t i = 0; i < m; ++i) {
          if (i == j || best[b][i] == inf) continue;
          const double c = best[b][i] + hop_cost(costs, usable[i], s);
          if (c < base) {
            base = c;
            prev = static_cast<int>(i);
          }
        }
      }
      if (base == inf) continue;
      for (int e = b + 1; e <= std::min(s.end, n); ++e) {
        const double c = base + s.compute_ms_per_block * (e - b);
        if (c < best[e][j]) {
          best[e][j] = c;
          from[e][j] = {b, prev};
        }
      }
    }
  }
  int last = -1;
  double total = inf;
  for (size_t j = 0; j < m; ++j) {
    if (best[n][j] == inf) continue;
    const double c = best[n][j] + exit_cost(costs, *usable[j]);
    if (c < total) {
      total = c;
      last = static_cast<int>(j);
    }
  }
  if (last < 0) fail_uncovered(usable, unusable, request);
  std::vector<RouteHop> route;
  int e = n, j = last;
  while (e > first) {
    const auto [b, prev] = from[e][j];
    const ServerRecord& s = *usable[j];
    route.insert(route.begin(), RouteHop{s.peer, s.public_key, s.address, s.family, b, e,
                                         s.compute_ms_per_block, client_rtt(costs, s.peer)});
    e = b;
    j = prev;
  }
  return route;
}

std::string choose_weight_format(const std::vector<ServerRecord>& servers,
                                 const std::string& formats, int num_blocks) {
  if (formats == "any") return "";
  if (!formats.empty()) return formats;
  struct Tally {
    int servers = 0;
    std::vector<bool> covered;
  };
  std::map<std::string, Tally> by_format;
  for (const auto& s : servers) {
    if (s.state != ServerState::kOnline) continue;
    Tally& t = by_format[s.weight_format];
    t.covered.resize(num_blocks, false);
    ++t.servers;
    for (int b = std::max(0, s.start); b < std::min(s.end, num_blocks); ++b) t.covered[b] = true;
  }
  std::string best;
  std::pair<bool, int> best_score{false, -1};  // (covers every block, servers)
  for (const auto& [format, t] : by_format) {  // name order: ties keep the smaller name
    const bool complete = std::all_of(t.covered.begin(), t.covered.end(), [](bool c) { return c; });
    const std::pair<bool, int> score{complete, t.servers};
    if (score > best_score) {
      best_score = score;
      best = format;
    }
  }
  return best;
}

double route_cost_ms(const std::vector<RouteHop>& route, const std::vector<ServerRecord>& servers,
                     const RouteCosts& costs) {
  double total = 0;
  const ServerRecord* prev = nullptr;
  for (const auto& hop : route) {
    const ServerRecord* s = find_server(servers, hop.peer);
    if (s == nullptr) return std::numeric_limits<double>::infinity();
    total += hop_cost(costs, prev, *s) + s->compute_ms_per_block * (hop.end - hop.start);
    prev = s;
  }
  if (prev) total += exit_cost(costs, *prev);
  return total;
}

}  // namespace brigade
