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

}  // namespace brigade
