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

class FaultInjector::CorruptPushes final : public PushSink {
 public:
  explicit CorruptPushes(PushSink& sink) : sink_(sink) {}
  void push(const rpc::Hop& target, int64_t step_id, int32_t position,
            const WireTensor& output) override {
    // Every value scaled a little: plausible, wrong, and signed by the sink.
    WireTensor bad = output;
    std::vector<float> values = bad.values();
    for (float& v : values) v *= 1.01f;
    bad.bytes = encode_values(values, bad.dtype);
    sink_.push(target, step_id, position, bad);
  }

 private:
  PushSink& sink_;
};

FaultInjector::FaultInjector(FaultPlan plan) : plan_(plan) {}
FaultInjector::~FaultInjector() = default;

HostedSession::Deliver FaultInjector::wrap(HostedSession::Deliver deliver) {
  if (plan_.kind == FaultPlan::Kind::kNone || plan_.kind == FaultPlan::Kind::kCorruptPushes ||
      plan_.kind == FaultPlan::Kind::kRefuseSessions) {
    return deliver;
  }
  return [this, deliver = std::move(deliver)](const StepOutcome& outcome) {
    before_answer();
    if (plan_.kind != FaultPlan::Kind::kCorruptOutputs) return deliver(outcome);
    StepOutcome bad = outcome;
    if (!bad.output.bytes.empty()) bad.output.bytes[0] ^= 0x40;  // no longer the signed digest
    deliver(bad);
  };
}

PushSink& FaultInjector::wrap(PushSink& sink) {
  if (plan_.kind != FaultPlan::Kind::kCorruptPushes) return sink;
  if (!corrupt_pushes_) corrupt_pushes_ = std::make_unique<CorruptPushes>(sink);
  return *corrupt_pushes_;
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
