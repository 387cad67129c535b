#include "server/cache_budget.h"

namespace brigade {

void CacheBudget::acquire(int64_t tokens, std::chrono::milliseconds wait) {
  if (tokens > capacity_) {
    fail(ErrorKind::kRefused, "cache full: a session needs {} tokens, the server holds at most {}",
         tokens, capacity_);
  }
  MutexLock lock(mutex_);
  if (!freed_.wait_for(mutex_, wait, [&]() BRIGADE_REQUIRES(mutex_) { return left_ >= tokens; })) {
    fail(ErrorKind::kRefused,
         "cache full: a session needs {} tokens, {} of {} are free after waiting {} ms", tokens,
         left_, capacity_, wait.count());
  }
  left_ -= tokens;
}

void CacheBudget::release(int64_t tokens) {
  {
    MutexLock lock(mutex_);
    left_ += tokens;
  }
  freed_.notify_all();
}

int64_t CacheBudget::left() const {
  MutexLock lock(mutex_);
  return left_;
}

}  // namespace brigade
