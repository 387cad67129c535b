#pragma once
// The one clock the benchmarks time with.

#include <chrono>

namespace brigade::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace brigade::bench
