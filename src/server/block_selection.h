#pragma once
// Where a server started with --num-blocks K should sit: the K consecutive
// blocks that the swarm serves least, as Petals servers choose; and, later,
// whether moving elsewhere would raise the swarm's throughput enough to be
// worth it (Petals' balance check).

#include <optional>
#include <string>

#include "dht/swarm_directory.h"

namespace brigade {

// Per block, the throughput (tokens/s) that online servers announce for it.
std::vector<double> block_throughput(const SwarmView& view, int num_layers);

// The start of the window of `k` blocks whose weakest block has the least
// throughput (ties: least total, then lowest start). REQUIRES 1 <= k <= num_layers.
int choose_blocks(const SwarmView& view, int num_layers, int k);

// For the server `self` of `view` (serving k blocks from `start`): the start
// of the window choose_blocks picks with its own span taken out, when moving
// there raises the swarm's throughput (that of its weakest block) by more
// than `margin` (0.2: by more than 20%), so that servers move only for a
// clear gain and do not flap between equal spans. nullopt: stay (also when
// `self` is not in the view yet).
std::optional<int> better_start(const SwarmView& view, const std::string& self, int num_layers,
                                int start, int k, double margin);

}  // namespace brigade
