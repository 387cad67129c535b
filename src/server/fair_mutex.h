#pragma once
// A mutex that serves its waiters in the order they arrived (a ticket lock).
// std::mutex promises no order: a thread that unlocks and locks again at once
// usually wins, so a session running a long step chunk after chunk would
// starve a short decode step waiting for the same cores. With FairMutex the
// decode step, queued while a chunk runs, runs before that session's next
// chunk.
//
// Held for a scope with MutexLock (util/thread_annotations.h). Waiters
// sleep on a condition variable; each unlock wakes all of them and
// one goes on (fine for the few threads that wait for the server's compute).

#include <cstdint>

#include "util/thread_annotations.h"

namespace brigade {

class BRIGADE_CAPABILITY("mutex") FairMutex {
 public:
  void lock() BRIGADE_ACQUIRE() {
    MutexLock lock(mutex_);
    const uint64_t ticket = next_ticket_++;
    turn_.wait(mutex_, [&]() BRIGADE_REQUIRES(mutex_) { return serving_ == ticket; });
  }

  void unlock() BRIGADE_RELEASE() {
    {
      MutexLock lock(mutex_);
      ++serving_;
    }
    turn_.notify_all();
  }

  // Threads waiting for the lock now (not counting the holder): for tests
  // that line waiters up before letting them in.
  int waiting() const {
    MutexLock lock(mutex_);
    const uint64_t queued = next_ticket_ - serving_;
    return queued == 0 ? 0 : static_cast<int>(queued - 1);
  }

 private:
  mutable Mutex mutex_;
  CondVar turn_;
  uint64_t next_ticket_ BRIGADE_GUARDED_BY(mutex_) = 0;  // handed to the next locker
  uint64_t serving_ BRIGADE_GUARDED_BY(mutex_) = 0;      // the ticket that holds the lock
};

}  // namespace brigade
