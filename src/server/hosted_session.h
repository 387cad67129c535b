#pragma once
// One client's session hosted on this server: its KV cache over the
// session's blocks, the step counter, and the checks of every input against
// what the session was opened with. (Petals calls the client's side of this
// an inference session; this is the server's.)
//
// Steps run strictly in order, each from whichever copy arrives first: the
// client's own, or a push from the upstream server the client named. The
// digest of every input used from a push is kept until the client's copy of
// that step arrives; if the copies differ, the session rolls its cache back
// to that step, recomputes from the client's copy, answers with `corrected`
// and stops taking pushes from that peer (DESIGN.md, point 5). The client's
// own copies may skip step ids ahead: a replacement server gets a failed
// span's whole history as one step, with the id of the last step it covers.
//
// Locking (checked by clang, util/thread_annotations.h): mutex_ guards all
// mutable state but last_active_; compute runs with mutex_ held and waits
// for the server's passes (StepBatcher), which never take a session's lock.

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
#include "server/push_sink.h"
#include "server/step_assembler.h"
#include "server/step_batcher.h"
#include "util/thread_annotations.h"

namespace brigade {

struct StepOutcome {
  rpc::StepResult result;  // everything but the hidden chunks
  WireTensor output;
};

// What became of a push.
enum class PushVerdict { kAccepted, kLate, kDropped };

// Runs blocks [start, end) of `span` on `input` ([batch, tokens, hidden] of
// finite values) from `position` into `cache` on the server's `compute`
// (batched with other sessions' steps, in chunks); returns the output at the
// input's dtype and sets *compute_ms (the step's time, waits included).
// Throws Error starting with `what` on non-finite values.
WireTensor run_blocks(const BlockSpan& span, int start, int end, const WireTensor& input,
                      int32_t position, KvCache& cache, StepBatcher& compute,
                      const std::string& what, double* compute_ms);

class HostedSession {
 public:
  // Sends a result to the client; called with the session's lock held, so
  // results reach the client in the order they were computed.
  using Deliver = std::function<void(const StepOutcome&)>;

  // REQUIRES: validate_open(open, span) passed.
  HostedSession(const rpc::OpenSession& open, const BlockSpan& span, const Identity& identity,
                StepBatcher& compute, std::unique_ptr<CacheReservation> reservation,
                PushCounters& counters, PushSink& pushes);

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

  std::chrono::steady_clock::time_point last_active() const;
  // The client is using the session (a message arrived, a step starts):
  // it is not idle, whatever the time since its last answer.
  void touch() { last_active_ = std::chrono::steady_clock::now(); }

 private:
  struct UsedPush {
    int64_t step_id;
    int32_t position;
    std::string input_digest;
    std::string pusher;
  };

  // Whose copy of a step's input: the client's own, or a push.
  enum class Copy { kClient, kPush };
  void validate(const StepInput& input, Copy copy) const BRIGADE_REQUIRES(mutex_);
  // Computes the next step (REQUIRES: validate() passed).
  StepOutcome compute(const StepInput& input, bool from_push) BRIGADE_REQUIRES(mutex_);
  void deliver_and_push(StepOutcome outcome, int32_t position) BRIGADE_REQUIRES(mutex_);
  // Runs the next step from a push by `pusher`, kept unconfirmed until the
  // client's copy arrives. Throws Error on an invalid input.
  void run_pushed(const StepInput& input, const std::string& pusher) BRIGADE_REQUIRES(mutex_);
  void run_waiting_pushes() BRIGADE_REQUIRES(mutex_);

  const std::string id_;
  const BlockSpan& span_;
  const Identity& identity_;
  StepBatcher& compute_;
  const int start_, end_, batch_, max_length_;
  const rpc::WireDType dtype_;
  std::unique_ptr<CacheReservation> reservation_;
  PushCounters& counters_;
  PushSink& pushes_;

  mutable Mutex mutex_;
  KvCache cache_ BRIGADE_GUARDED_BY(mutex_);
  Deliver deliver_ BRIGADE_GUARDED_BY(mutex_);
  bool detached_ BRIGADE_GUARDED_BY(mutex_) = false;
  int64_t next_step_ BRIGADE_GUARDED_BY(mutex_) = 0;     // the next step to compute
  int64_t last_pushed_ BRIGADE_GUARDED_BY(mutex_) = -1;  // at most one outgoing push per step
  // Steps run from pushes, awaiting the client's copy.
  std::deque<UsedPush> unconfirmed_ BRIGADE_GUARDED_BY(mutex_);
  // Pushes for future steps, bounded.
  std::map<int64_t, std::pair<StepInput, std::string>> waiting_pushes_ BRIGADE_GUARDED_BY(mutex_);
  std::vector<rpc::Hop> next_ BRIGADE_GUARDED_BY(mutex_);
  std::string upstream_ BRIGADE_GUARDED_BY(mutex_);
  std::set<std::string> distrusted_ BRIGADE_GUARDED_BY(mutex_);  // peers whose pushes did not match
  // Read by the idle-session reaper without the session lock (which a long
  // step may hold).
  std::atomic<std::chrono::steady_clock::time_point> last_active_;
};

}  // namespace brigade
