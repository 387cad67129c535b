#include "bench/bandwidth.h"

#include <algorithm>
#include <thread>

#include "bench/timing.h"

namespace brigade::bench {

double read_bandwidth(const std::vector<uint64_t>& buffer, int threads, int repeats) {
  double best = 0;
  std::vector<uint64_t> sums(threads);
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    const size_t chunk = buffer.size() / threads;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const uint64_t* p = buffer.data() + t * chunk;
        // Integer sums vectorize without -ffast-math, so the loop runs at
        // memory speed rather than at the speed of a float add chain.
        uint64_t s = 0;
        for (size_t i = 0; i < chunk; ++i) s += p[i];
        sums[t] = s;
      });
    }
    for (auto& w : workers) w.join();
    const double s = seconds_since(start);
    best = std::max(best, static_cast<double>(chunk * threads * sizeof(uint64_t)) / s);
  }
  // Keep the sums observable so the loops are not optimized away.
  volatile uint64_t sink = 0;
  for (auto s : sums) sink = sink + s;
  return best;
}

std::vector<uint64_t> bandwidth_buffer() {
  std::vector<uint64_t> buffer((size_t{1} << 30) / sizeof(uint64_t));
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = i;
  return buffer;
}

}  // namespace brigade::bench
