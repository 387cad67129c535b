#include "util/watchdog.h"

namespace brigade {

Watchdog::Watchdog() : thread_([this] { run(); }) {}

Watchdog::~Watchdog() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    due_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

Watchdog::Timer::Timer(Timer&& other) noexcept
    : watchdog_(std::exchange(other.watchdog_, nullptr)), key_(other.key_) {}

Watchdog::Timer& Watchdog::Timer::operator=(Timer&& other) noexcept {
  if (this != &other) {
    disarm();
    watchdog_ = std::exchange(other.watchdog_, nullptr);
    key_ = other.key_;
  }
  return *this;
}

void Watchdog::Timer::disarm() {
  if (watchdog_ != nullptr) watchdog_->disarm(key_);
  watchdog_ = nullptr;
}

Watchdog::Timer Watchdog::arm(std::chrono::milliseconds timeout, std::function<void()> expire) {
  Key key;
  bool earliest = false;
  {
    MutexLock lock(mutex_);
    key = {Clock::now() + timeout, next_id_++};
    due_.emplace(key, std::move(expire));
    earliest = due_.begin()->first == key;
  }
  if (earliest) changed_.notify_all();
  return Timer(this, key);
}

void Watchdog::disarm(const Key& key) {
  MutexLock lock(mutex_);
  due_.erase(key);  // gone already if it fired
}

void Watchdog::run() {
  MutexLock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      changed_.wait(mutex_, [&]() BRIGADE_REQUIRES(mutex_) { return stopping_ || !due_.empty(); });
      continue;
    }
    const Key first = due_.begin()->first;
    const auto now = Clock::now();
    if (first.first <= now) {
      auto expire = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      expire();  // under the lock: a disarm that returned cannot race it
      continue;
    }
    // Until it is due, or an earlier deadline (or the end) comes.
    changed_.wait_for(mutex_, first.first - now, [&]() BRIGADE_REQUIRES(mutex_) {
      return stopping_ || due_.empty() || due_.begin()->first < first;
    });
  }
}

}  // namespace brigade
