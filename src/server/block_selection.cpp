#include "server/block_selection.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

namespace brigade {

std::vector<double> block_throughput(const SwarmView& view, int num_layers) {
  std::vector<double> throughput(num_layers, 0.0);
  for (const auto& server : view.servers) {
    if (server.state != ServerState::kOnline) continue;
    const double speed = 1000.0 / std::max(server.compute_ms_per_block, 1e-3);
    for (int b = std::max(0, server.start); b < std::min(server.end, num_layers); ++b) {
      throughput[b] += speed;
    }
  }
  return throughput;
}

int choose_blocks(const SwarmView& view, int num_layers, int k) {
  const auto throughput = block_throughput(view, num_layers);
  int best = 0;
  auto best_key = std::make_tuple(std::numeric_limits<double>::infinity(),
                                  std::numeric_limits<double>::infinity());
  for (int start = 0; start + k <= num_layers; ++start) {
    const auto first = throughput.begin() + start;
    const auto key = std::make_tuple(*std::min_element(first, first + k),
                                     std::accumulate(first, first + k, 0.0));
    if (key < best_key) {
      best_key = key;
      best = start;
    }
  }
  return best;
}

std::optional<int> better_start(const SwarmView& view, const std::string& self, int num_layers,
                                int start, int k, double margin) {
  SwarmView others = view;
  double my_speed = -1;
  std::erase_if(others.servers, [&](const ServerRecord& server) {
    if (server.peer != self) return false;
    if (server.state == ServerState::kOnline)
      my_speed = 1000.0 / std::max(server.compute_ms_per_block, 1e-3);
    return true;
  });
  if (my_speed < 0) return std::nullopt;
  const auto base = block_throughput(others, num_layers);
  // The weakest block's throughput, and how many blocks nobody serves, with
  // this server at s.
  const auto with_me_at = [&](int s) {
    auto throughput = base;
    for (int b = s; b < s + k; ++b) throughput[b] += my_speed;
    return std::pair{*std::min_element(throughput.begin(), throughput.end()),
                     std::count(throughput.begin(), throughput.end(), 0.0)};
  };
  const int candidate = choose_blocks(others, num_layers, k);
  if (candidate == start) return std::nullopt;
  const auto [weakest_now, unserved_now] = with_me_at(start);
  const auto [weakest_then, unserved_then] = with_me_at(candidate);
  // While holes remain the weakest block is 0 either way: then fewer holes
  // is the gain.
  if (weakest_then > weakest_now * (1 + margin) ||
      (weakest_now == 0 && unserved_then < unserved_now))
    return candidate;
  return std::nullopt;
}

}  // namespace brigade
