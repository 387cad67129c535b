#include "server/cache_budget.h"

#include <algorithm>

namespace brigade {

void CacheBudget::acquire(int64_t tokens, std::chrono::milliseconds wait,
                          const std::function<void()>& queued) {
  require_fits(tokens);
  uint64_t ticket = 0;
  {
    MutexLock lock(mutex_);
    if (waiting_.empty() && left_ >= tokens) {
      left_ -= tokens;
      return;
    }
    if (static_cast<int>(waiting_.size()) >= max_waiting_) {
      fail(ErrorKind::kRefused, "cache full, {} opens already waiting", waiting_.size());
    }
    ticket = next_ticket_++;
    waiting_.push_back({ticket, tokens});
  }
  if (queued) {
    try {
      queued();
    } catch (...) {
      // The ticket must leave the queue on every path, or it would block
      // every later open.
      MutexLock lock(mutex_);
      leave_queue(ticket);
      changed_.notify_all();
      throw;
    }
  }
  MutexLock lock(mutex_);
  const bool served = changed_.wait_for(mutex_, wait, [&]() BRIGADE_REQUIRES(mutex_) {
    return waiting_.front().ticket == ticket && left_ >= tokens;
  });
  if (served) {
    left_ -= tokens;
    waiting_.pop_front();
  } else {
    leave_queue(ticket);
  }
  // Either way the queue has a new head, which may fit now.
  changed_.notify_all();
  if (!served) {
    fail(ErrorKind::kRefused,
         "cache full: a session needs {} tokens, {} of {} are free after waiting {} ms", tokens,
         left_, capacity_, wait.count());
  }
}

void CacheBudget::leave_queue(uint64_t ticket) {
  waiting_.erase(std::find_if(waiting_.begin(), waiting_.end(),
                              [&](const Waiter& w) { return w.ticket == ticket; }));
}

void CacheBudget::require_fits(int64_t tokens) const {
  if (tokens > capacity_) {
    fail(ErrorKind::kRefused, "cache full: a session needs {} tokens, the server holds at most {}",
         tokens, capacity_);
  }
}

void CacheBudget::release(int64_t tokens) {
  {
    MutexLock lock(mutex_);
    left_ += tokens;
  }
  changed_.notify_all();
}

int64_t CacheBudget::left() const {
  MutexLock lock(mutex_);
  return left_;
}

int CacheBudget::waiting() const {
  MutexLock lock(mutex_);
  return static_cast<int>(waiting_.size());
}

int64_t CacheBudget::shortfall() const {
  MutexLock lock(mutex_);
  int64_t need = 0;
  for (const Waiter& w : waiting_) need += w.tokens;
  return std::max<int64_t>(0, need - left_);
}

}  // namespace brigade
