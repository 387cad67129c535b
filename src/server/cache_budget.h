#pragma once
// The server's KV-cache budget, in tokens (batch x max_length per session).
// A session reserves its whole need at open; when the budget is exhausted
// the open waits up to a bounded time for other sessions to end, then fails
// with a "cache full" Error of kind kRefused.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "util/error.h"
#include "util/thread_annotations.h"

namespace brigade {

class CacheBudget {
 public:
  explicit CacheBudget(int64_t tokens) : capacity_(tokens), left_(tokens) {}

  // Throws Error (kRefused) when `tokens` cannot be had within `wait`.
  void acquire(int64_t tokens, std::chrono::milliseconds wait);
  void release(int64_t tokens);
  int64_t left() const;
  int64_t capacity() const { return capacity_; }

 private:
  const int64_t capacity_;
  mutable Mutex mutex_;
  CondVar freed_;
  int64_t left_ BRIGADE_GUARDED_BY(mutex_);
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
