#pragma once
// The one clock the benchmarks time with, and the one way they summarize
// what they timed.

#include <algorithm>
#include <chrono>
#include <vector>

namespace brigade::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The value at fraction `p` of the sorted `values` (0.5: the median); 0 for
// none.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

}  // namespace brigade::bench
