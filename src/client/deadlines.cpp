#include "client/deadlines.h"

#include <algorithm>
#include <cmath>

namespace brigade {
namespace {

// `base` doubled `stalls` times, never past `cap`.
std::chrono::milliseconds doubled(double base_ms, int stalls, std::chrono::milliseconds cap) {
  const double ms = base_ms * std::pow(2.0, std::min(stalls, 20));
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::min(ms, static_cast<double>(cap.count()))));
}

// Round trips a wait allows for: a step's request and answer, an open's
// connection, TLS handshake and answer.
constexpr double kRoundTrips = 4;

double known_rtt(double rtt_ms) { return std::isfinite(rtt_ms) ? std::max(0.0, rtt_ms) : 0; }

}  // namespace

std::chrono::milliseconds Deadlines::step(double ms_per_block, int blocks, int tokens,
                                          double rtt_ms, int stalls) const {
  const double compute = std::max(0.0, ms_per_block) * blocks * tokens;
  const double base =
      static_cast<double>(floor.count()) + kRoundTrips * known_rtt(rtt_ms) + slack * compute;
  return doubled(base, stalls, cap);
}

std::chrono::milliseconds Deadlines::open_after(double rtt_ms, int stalls) const {
  const double base = static_cast<double>(open.count()) + kRoundTrips * known_rtt(rtt_ms);
  return doubled(base, stalls, std::max(cap, open));
}

}  // namespace brigade
