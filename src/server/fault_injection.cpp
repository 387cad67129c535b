#include "server/fault_injection.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "util/error.h"

namespace brigade {

FaultPlan FaultPlan::parse(const std::string& text) {
  FaultPlan plan;
  if (text.empty() || text == "none") return plan;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      plan.after_steps = std::stoi(text.substr(colon + 1));
    } catch (const std::exception&) {
      fail("--fault: '{}' has no valid step count", text);
    }
    require(plan.after_steps >= 0, "--fault: step count must be >= 0 in '{}'", text);
  }
  if (kind == "crash-after") {
    plan.kind = Kind::kCrashAfter;
  } else if (kind == "stall-after") {
    plan.kind = Kind::kStallAfter;
  } else if (kind == "corrupt-outputs") {
    plan.kind = Kind::kCorruptOutputs;
  } else if (kind == "corrupt-pushes") {
    plan.kind = Kind::kCorruptPushes;
  } else if (kind == "refuse-sessions") {
    plan.kind = Kind::kRefuseSessions;
  } else {
    fail(
        "--fault: unknown kind '{}' (crash-after:K, stall-after:K, corrupt-outputs, "
        "corrupt-pushes, refuse-sessions)",
        kind);
  }
  return plan;
}

void FaultInjector::before_answer() {
  const int answered = answered_++;
  if (plan_.kind == FaultPlan::Kind::kCrashAfter && answered >= plan_.after_steps) {
    spdlog::error("fault injection: crashing after {} steps", answered);
    std::_Exit(86);
  }
  if (plan_.kind == FaultPlan::Kind::kStallAfter && answered >= plan_.after_steps) {
    spdlog::error("fault injection: stalling after {} steps", answered);
    while (!stopped_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace brigade
