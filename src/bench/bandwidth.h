#pragma once
// Memory read bandwidth, the floor of memory-bound decoding: benchmarks
// measure it in the same run as what they compare against it.

#include <cstdint>
#include <vector>

namespace brigade::bench {

// Best-of-`repeats` bytes per second of a read-only pass over `buffer` split
// across `threads` threads.
double read_bandwidth(const std::vector<uint64_t>& buffer, int threads, int repeats);

// A 1 GiB buffer of distinct values: far beyond any cache.
std::vector<uint64_t> bandwidth_buffer();

}  // namespace brigade::bench
