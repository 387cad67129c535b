#pragma once
// What `brigade server --metrics-listen HOST:PORT` serves at /metrics, in
// Prometheus' text exposition format (0.0.4): steps and tokens served, a
// histogram of step latency (queueing for a pass included), open sessions,
// cache tokens used and left, push counters, sessions refused and
// recoveries served (sessions whose first step replayed a history).

#include <array>
#include <cstdint>
#include <string>

#include "brigade.pb.h"

namespace brigade {

// Step latencies in seconds, in fixed buckets (Prometheus' cumulative
// buckets are made when rendering).
struct LatencyHistogram {
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};
  std::array<uint64_t, kBounds.size() + 1> counts{};  // the last one: above every bound
  double sum_seconds = 0;
  uint64_t count = 0;
  void observe(double seconds);
};

struct ServerMetrics {
  rpc::InfoResponse info;    // identity, span, sessions, cache left, push counters
  int64_t cache_tokens = 0;  // the budget
  uint64_t steps = 0;
  uint64_t tokens = 0;  // over all steps (batch x tokens each)
  LatencyHistogram step_latency;
  uint64_t sessions_refused = 0;
  uint64_t recoveries_served = 0;
};

// The /metrics page.
std::string prometheus_text(const ServerMetrics& metrics);

}  // namespace brigade
