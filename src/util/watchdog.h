#pragma once
// Deadlines for parts of calls that gRPC's own deadline cannot cover (it
// covers a whole call, which for an inference session lasts as long as the
// session): a server cancels a stream that does not send its first message
// soon after it starts, so that its thread returns; a client cancels a
// session whose server does not answer the open. One thread serves every
// deadline of its owner; a thread per deadline would cost as much as the
// streams it guards.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "util/thread_annotations.h"

namespace brigade {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog();
  ~Watchdog();  // drops every armed deadline without calling it
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // One armed deadline; destroying or disarming it before it is due means
  // it never fires.
  class Timer {
   public:
    Timer() = default;
    Timer(Timer&& other) noexcept;
    Timer& operator=(Timer&& other) noexcept;
    ~Timer() { disarm(); }
    // After disarm() returns, the deadline's call has either completed or
    // will never happen.
    void disarm();

   private:
    friend class Watchdog;
    Timer(Watchdog* watchdog, std::pair<Clock::time_point, uint64_t> key)
        : watchdog_(watchdog), key_(key) {}
    Watchdog* watchdog_ = nullptr;
    std::pair<Clock::time_point, uint64_t> key_;
  };

  // Calls `expire` once `timeout` has passed, unless the timer is disarmed
  // first. `expire` runs on the watchdog's thread with its lock held: it must
  // be quick and must not arm or disarm (ServerContext::TryCancel is fine).
  [[nodiscard]] Timer arm(std::chrono::milliseconds timeout, std::function<void()> expire);

 private:
  using Key = std::pair<Clock::time_point, uint64_t>;  // (when, unique id)
  void run();
  void disarm(const Key& key);

  Mutex mutex_;
  CondVar changed_;
  bool stopping_ BRIGADE_GUARDED_BY(mutex_) = false;
  uint64_t next_id_ BRIGADE_GUARDED_BY(mutex_) = 0;
  std::map<Key, std::function<void()>> due_ BRIGADE_GUARDED_BY(mutex_);  // earliest first
  std::thread thread_;
};

}  // namespace brigade
