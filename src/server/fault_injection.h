#pragma once
// Deliberate failures, for the tests of every recovery path (`brigade server
// --fault KIND[:K]`). A server without --fault never takes any of these
// branches. Kinds:
//   crash-after:K      exit abruptly once K steps have been answered
//   stall-after:K      stop answering after K steps (the process stays up)
//   corrupt-outputs    answer with data that does not match the signed digest
//   corrupt-pushes     push data that differs from the answer to the client
//   refuse-sessions    refuse every session open
// Faults wrap the real collaborators (the result delivery, the push sink)
// and the gRPC adapter; the protocol code never sees them.

#include <atomic>
#include <memory>
#include <string>

#include "server/hosted_session.h"
#include "server/push_sink.h"

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
  explicit FaultInjector(FaultPlan plan = {});
  ~FaultInjector();

  // `deliver` with the plan's faults around it: before each answer it may
  // exit the process or block until stop(); corrupt-outputs flips a bit of
  // every answer after it was signed.
  HostedSession::Deliver wrap(HostedSession::Deliver deliver);
  // `sink` with corrupt-pushes applied (plausible but wrong data, validly
  // signed); `sink` itself otherwise. REQUIRES: `sink` outlives the result.
  PushSink& wrap(PushSink& sink);
  bool refuse_sessions() const { return plan_.kind == FaultPlan::Kind::kRefuseSessions; }
  // Releases stalled steps (on shutdown).
  void stop() { stopped_ = true; }

 private:
  class CorruptPushes;
  void before_answer();

  FaultPlan plan_;
  std::unique_ptr<PushSink> corrupt_pushes_;
  std::atomic<int> answered_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace brigade
