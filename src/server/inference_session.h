#pragma once
// One client's inference session on this server: its KV cache over the
// session's blocks, the step counter, and the checks of every input against
// what the session was opened with.
//
// Steps run strictly in order, each from whichever copy arrives first: the
// client's own, or a push from the upstream server the client named. The
// digest of every input used from a push is kept until the client's copy of
// that step arrives; if the copies differ, the session rolls its cache back
// to that step, recomputes from the client's copy, answers with `corrected`
// and stops taking pushes from that peer (DESIGN.md, point 5).

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "model/block_span.h"
#include "net/identity.h"
#include "net/tensor_codec.h"
#include "server/cache_budget.h"
#include "server/fault_injection.h"
#include "server/push_sender.h"

namespace brigade {

struct StepInput {
  int64_t step_id = 0;
  int32_t position = 0;
  WireTensor hidden;
};

struct StepOutcome {
  rpc::StepResult result;  // everything but the hidden chunks
  WireTensor output;
};

// Checks an open request against the served span: a non-empty session id of
// at most 128 bytes, [start, end) inside the span, 1 <= batch <= 64,
// 1 <= max_length <= config.max_context(), a known wire dtype.
void validate_open(const rpc::OpenSession& open, const BlockSpan& span);

// Collects a client's Step messages into whole steps. The first chunk of a
// step names its id and position; every later chunk must carry the same id.
// Throws Error (naming the session) on a chunk of another step and on
// anything ChunkAssembler refuses.
class StepAssembler {
 public:
  StepAssembler(rpc::WireDType dtype, size_t max_bytes, std::string session_id)
      : chunks_(dtype, max_bytes), session_id_(std::move(session_id)) {}
  // True when `step` completed a step; take() then returns it.
  bool add(const rpc::Step& step);
  StepInput take();  // REQUIRES: add() returned true

 private:
  ChunkAssembler chunks_;
  std::string session_id_;
  StepInput input_;
};

// What became of a push.
enum class PushVerdict { kAccepted, kLate, kDropped };

class InferenceSession {
 public:
  // Sends a result to the client; called with the session's lock held, so
  // results reach the client in the order they were computed.
  using Deliver = std::function<void(const StepOutcome&)>;

  // REQUIRES: validate_open(open, span) passed.
  InferenceSession(const rpc::OpenSession& open, const BlockSpan& span, const Identity& identity,
                   std::mutex& compute_mutex, std::unique_ptr<CacheReservation> reservation,
                   PushCounters* counters = nullptr, PushSender* sender = nullptr,
                   FaultInjector* faults = nullptr);

  const std::string& id() const { return id_; }
  rpc::WireDType dtype() const { return dtype_; }
  // The most bytes one step's hidden states may take on the wire.
  size_t max_step_bytes() const;

  void attach(Deliver deliver);
  // After detach() nothing is delivered and pushes are dropped.
  void detach();

  // Where outputs go next and who may push inputs (a RouteUpdate).
  void update_route(std::vector<rpc::Hop> next, std::string upstream_peer);

  // The client's copy of a step: runs it, confirms a pushed copy already
  // used, or corrects a pushed copy that differed. Throws Error (with the
  // session id and the offending field) on an invalid step.
  void on_client_step(const StepInput& input);

  // A push whose sender signature was already verified. Never throws.
  PushVerdict on_push(const StepInput& input, const std::string& sender_peer, std::string* why);

  // A one-off run (the stateless Forward RPC): validates and computes.
  StepOutcome run_once(const StepInput& input);

  std::chrono::steady_clock::time_point last_active() const;

 private:
  struct UsedPush {
    int64_t step_id;
    int32_t position;
    std::string input_digest;
    std::string pusher;
  };

  void validate(const StepInput& input) const;
  // Computes the next step (REQUIRES mutex_ held and validate() passed).
  StepOutcome compute(const StepInput& input, bool from_push);
  void deliver_and_push(StepOutcome outcome, int32_t position);
  void run_waiting_pushes();

  const std::string id_;
  const BlockSpan& span_;
  const Identity& identity_;
  std::mutex& compute_mutex_;
  const int start_, end_, batch_, max_length_;
  const rpc::WireDType dtype_;
  std::unique_ptr<CacheReservation> reservation_;
  PushCounters* counters_;
  PushSender* sender_;
  FaultInjector* faults_;

  mutable std::mutex mutex_;
  KvCache cache_;
  Deliver deliver_;
  bool detached_ = false;
  int64_t next_step_ = 0;             // the next step to compute
  int64_t last_pushed_ = -1;          // at most one outgoing push per step
  std::deque<UsedPush> unconfirmed_;  // steps run from pushes, awaiting the client's copy
  std::map<int64_t, std::pair<StepInput, std::string>> waiting_pushes_;  // future steps, bounded
  std::vector<rpc::Hop> next_;
  std::string upstream_;
  std::set<std::string> distrusted_;  // peers whose pushes did not match
  // Read by the idle-session reaper without the session lock (which a long
  // step may hold).
  std::atomic<std::chrono::steady_clock::time_point> last_active_;
};

}  // namespace brigade
