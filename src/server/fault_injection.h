#pragma once
// Deliberate failures, for the tests of every recovery path (`brigade server
// --fault KIND[:K]`). A server without --fault never takes any of these
// branches. Kinds:
//   crash-after:K      exit abruptly once K steps have been answered
//   stall-after:K      stop answering after K steps (the process stays up)
//   corrupt-outputs    answer with data that does not match the signed digest
//   corrupt-pushes     push data that differs from the answer to the client
//   refuse-sessions    refuse every session open

#include <atomic>
#include <string>

namespace brigade {

struct FaultPlan {
  enum class Kind {
    kNone,
    kCrashAfter,
    kStallAfter,
    kCorruptOutputs,
    kCorruptPushes,
    kRefuseSessions
  };
  Kind kind = Kind::kNone;
  int after_steps = 0;

  // Throws Error naming the bad value.
  static FaultPlan parse(const std::string& text);
};

class FaultInjector {
 public:
  explicit FaultInjector(FaultPlan plan = {}) : plan_(plan) {}

  // Called before each step's answer is sent: may exit the process or block
  // until `stop()`.
  void before_answer();
  bool corrupt_outputs() const { return plan_.kind == FaultPlan::Kind::kCorruptOutputs; }
  bool corrupt_pushes() const { return plan_.kind == FaultPlan::Kind::kCorruptPushes; }
  bool refuse_sessions() const { return plan_.kind == FaultPlan::Kind::kRefuseSessions; }
  // Releases stalled steps (on shutdown).
  void stop() { stopped_ = true; }

 private:
  FaultPlan plan_;
  std::atomic<int> answered_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace brigade
