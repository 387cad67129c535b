#pragma once
// The server's KV-cache budget, in tokens (batch x max_length per session).
// A session reserves its whole need at open. When the budget cannot cover
// it, the open queues: waiters are served first come, first served (a small
// open never overtakes a larger one that came first), each waits a bounded
// time, and the queue itself is bounded. Every refusal is an Error of kind
// kRefused that starts with "cache full".

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>

#include "util/error.h"
#include "util/thread_annotations.h"

namespace brigade {

class CacheBudget {
 public:
  // `max_waiting`: opens that may queue at once.
  CacheBudget(int64_t tokens, int max_waiting)
      : capacity_(tokens), max_waiting_(max_waiting), left_(tokens) {}

  // Takes `tokens` at once when nobody waits and they are free. Otherwise
  // joins the queue, calls `queued` (without the budget's lock: the caller
  // may free cache there, for example by closing idle sessions), and waits
  // up to `wait` for its turn. Throws Error (kRefused) when `tokens` exceed
  // the capacity, when max_waiting opens already wait, or after `wait`.
  void acquire(int64_t tokens, std::chrono::milliseconds wait,
               const std::function<void()>& queued = nullptr);
  // Throws the Error acquire() throws when `tokens` exceed the capacity.
  void require_fits(int64_t tokens) const;
  void release(int64_t tokens);
  int64_t left() const;
  int64_t capacity() const { return capacity_; }
  // Opens waiting now.
  int waiting() const;
  // Tokens the waiting opens need beyond what is free (0 when none wait).
  int64_t shortfall() const;

 private:
  struct Waiter {
    uint64_t ticket;
    int64_t tokens;
  };

  void leave_queue(uint64_t ticket) BRIGADE_REQUIRES(mutex_);

  const int64_t capacity_;
  const int max_waiting_;
  mutable Mutex mutex_;
  CondVar changed_;
  int64_t left_ BRIGADE_GUARDED_BY(mutex_);
  uint64_t next_ticket_ BRIGADE_GUARDED_BY(mutex_) = 0;
  std::deque<Waiter> waiting_ BRIGADE_GUARDED_BY(mutex_);  // in arrival order
};

// Returns the reserved tokens to the budget on destruction.
class CacheReservation {
 public:
  CacheReservation(CacheBudget& budget, int64_t tokens) : budget_(budget), tokens_(tokens) {}
  ~CacheReservation() { budget_.release(tokens_); }
  CacheReservation(const CacheReservation&) = delete;
  CacheReservation& operator=(const CacheReservation&) = delete;

 private:
  CacheBudget& budget_;
  int64_t tokens_;
};

}  // namespace brigade
