#pragma once
// Where a server started with --num-blocks K should sit: the K consecutive
// blocks that the swarm serves least, as Petals servers choose.

#include "dht/swarm_directory.h"

namespace brigade {

// Per block, the throughput (tokens/s) that online servers announce for it.
std::vector<double> block_throughput(const SwarmView& view, int num_layers);

// The start of the window of `k` blocks whose weakest block has the least
// throughput (ties: least total, then lowest start). REQUIRES 1 <= k <= num_layers.
int choose_blocks(const SwarmView& view, int num_layers, int k);

}  // namespace brigade
