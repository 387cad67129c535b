#pragma once
// The server's cores, shared by every session and Forward call through
// continuous batching. Decode is memory-bound: one pass over a span's
// weights costs about the same for one token as for thirty, so steps of
// different sessions that are ready at the same time run in one forward pass
// (BlockSpan::forward_batch), each over its own KV cache and positions.
//
// One compute thread runs the passes. A caller's step waits in a first-come
// queue; each pass takes, from the front of the queue, up to
// `max_batch_tokens` tokens of steps over the same blocks, at most
// `chunk_tokens` of any one step (a long prefill advances one chunk per pass
// and then queues again behind the others). So a decode step that arrives
// while a 512-token prefill runs waits for one pass, not for the prefill, and
// no step waits for more passes than there are steps queued ahead of it.
//
// Steps that travel together get split on the way: an upstream server sends
// the pushes of one pass one after another, so the first of them would start
// a pass alone and the rest the next one. So when fewer steps are queued than
// sequences ran in the last second, a pass waits up to `gather` for the
// others (none at all for a server with one session).
//
// Neither batching nor chunking changes a bit of any result: the engine
// reduces every output in one order whatever the number of tokens in a pass
// or which other sequences share it, so a step of T tokens equals any split
// of it into consecutive runs, outputs and cache alike, alone or batched
// (DESIGN.md, "Determinism").

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <span>
#include <thread>

#include "model/block_span.h"
#include "model/kv_cache.h"
#include "server/server_metrics.h"
#include "util/thread_annotations.h"

namespace brigade {

class StepBatcher {
 public:
  // REQUIRES: max_batch_tokens >= 1, chunk_tokens >= 1, gather >= 0
  // (checked, throws Error).
  StepBatcher(int max_batch_tokens, int chunk_tokens,
              std::chrono::microseconds gather = std::chrono::microseconds(0));
  // Runs the steps still queued, then stops the compute thread.
  ~StepBatcher();
  StepBatcher(const StepBatcher&) = delete;
  StepBatcher& operator=(const StepBatcher&) = delete;

  // BlockSpan::forward_range over [batch, tokens, hidden] at `position`, in
  // passes shared with other callers' steps; returns when the whole step has
  // run. Its requirements are checked before any of it runs (throws Error):
  // a step fails untouched or runs whole. `span` and `cache` must stay
  // valid, and `cache` untouched by others, until it returns.
  void forward_range(const BlockSpan& span, int first, int last, std::span<float> hidden, int batch,
                     int tokens, int position, KvCache& cache);

  int max_batch_tokens() const { return max_batch_tokens_; }
  int chunk_tokens() const { return chunk_tokens_; }

  struct Stats {
    uint64_t passes = 0;
    uint64_t tokens = 0;            // over all passes
    uint64_t steps = 0;             // forward_range calls that ran
    LatencyHistogram step_latency;  // each step's forward_range, its waits included
    int most_steps_in_a_pass = 0;   // sequences sharing one pass, at most
    int most_passes_waited = 0;     // by a step before its first pass
  };
  Stats stats() const;

  // For tests that line steps up: while paused, no pass starts (a running
  // one finishes); queued() counts the steps waiting for a pass.
  void pause();
  void resume();
  int queued() const;

 private:
  struct Request {
    const BlockSpan* span = nullptr;
    int first = 0, last = 0;
    float* hidden = nullptr;
    int batch = 0, tokens = 0, position = 0;
    KvCache* cache = nullptr;
    int done = 0;            // tokens of each sequence run so far
    uint64_t queued_at = 0;  // passes_ when it was queued
    bool started = false;
    bool finished = false;
    std::exception_ptr error;
  };
  struct Piece {
    Request* request;
    int tokens;
  };

  void compute_loop();
  // Waits for work and takes the next pass off the queue; empty when
  // stopping with nothing left.
  std::vector<Piece> next_pass() BRIGADE_EXCLUDES(mutex_);
  // The next pass's pieces, taken off the queue. REQUIRES: queue not empty.
  std::vector<Piece> take_pass() BRIGADE_REQUIRES(mutex_);
  // Runs the pass without the lock (the pieces are the compute thread's
  // until end_pass).
  void run_pass(const std::vector<Piece>& pass, std::exception_ptr* error);
  // Counts the pass, finishes its steps or queues their next chunks.
  void end_pass(const std::vector<Piece>& pass, const std::exception_ptr& error)
      BRIGADE_EXCLUDES(mutex_);

  const int max_batch_tokens_, chunk_tokens_;
  const std::chrono::microseconds gather_;
  mutable Mutex mutex_;
  // When each cache last ran: the sequences a pass may wait for.
  std::map<const KvCache*, std::chrono::steady_clock::time_point> recent_
      BRIGADE_GUARDED_BY(mutex_);
  CondVar work_;      // a step was queued, or stop / resume
  CondVar finished_;  // a pass ended
  std::deque<Request*> queue_ BRIGADE_GUARDED_BY(mutex_);
  bool paused_ BRIGADE_GUARDED_BY(mutex_) = false;
  bool stopping_ BRIGADE_GUARDED_BY(mutex_) = false;
  Stats stats_ BRIGADE_GUARDED_BY(mutex_);
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace brigade
