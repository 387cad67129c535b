#pragma once
// Locking rules the compiler checks: Clang's thread-safety analysis
// (-Wthread-safety, on in every clang build; the fuzz smoke test's build is
// one) proves that data marked BRIGADE_GUARDED_BY(mu) is only touched with mu held and
// that functions marked BRIGADE_REQUIRES(mu) are only called with it held. Under gcc
// the annotations compile to nothing. Use Mutex and MutexLock (std::mutex
// carries no annotations in libstdc++).

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define BRIGADE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define BRIGADE_THREAD_ANNOTATION(x)
#endif

#define BRIGADE_CAPABILITY(x) BRIGADE_THREAD_ANNOTATION(capability(x))
#define BRIGADE_SCOPED_CAPABILITY BRIGADE_THREAD_ANNOTATION(scoped_lockable)
#define BRIGADE_GUARDED_BY(x) BRIGADE_THREAD_ANNOTATION(guarded_by(x))
#define BRIGADE_REQUIRES(...) BRIGADE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define BRIGADE_ACQUIRE(...) BRIGADE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define BRIGADE_RELEASE(...) BRIGADE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define BRIGADE_EXCLUDES(...) BRIGADE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define BRIGADE_NO_THREAD_SAFETY_ANALYSIS BRIGADE_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace brigade {

class BRIGADE_CAPABILITY("mutex") Mutex {
 public:
  void lock() BRIGADE_ACQUIRE() { mutex_.lock(); }
  void unlock() BRIGADE_RELEASE() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

// Holds a Mutex (or another annotated mutex, such as server/fair_mutex.h's
// FairMutex; the type is deduced) for its scope.
template <class Lockable = Mutex>
class BRIGADE_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Lockable& mutex) BRIGADE_ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() BRIGADE_RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Lockable& mutex_;
};

// A condition variable for Mutex. The waits are called with the Mutex held
// (by a MutexLock in the caller) and return holding it; `ready` runs with it
// held, so a lambda that reads guarded data says so:
//   cv.wait_for(mu, timeout, [&]() BRIGADE_REQUIRES(mu) { return done_; });
class CondVar {
 public:
  template <class Rep, class Period, class Predicate>
  bool wait_for(Mutex& mutex, std::chrono::duration<Rep, Period> timeout, Predicate ready)
      BRIGADE_REQUIRES(mutex) BRIGADE_NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock<Mutex> lock(mutex, std::adopt_lock);
    const bool done = cv_.wait_for(lock, timeout, ready);
    lock.release();  // the caller's MutexLock still owns it
    return done;
  }
  template <class Predicate>
  void wait(Mutex& mutex, Predicate ready)
      BRIGADE_REQUIRES(mutex) BRIGADE_NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock<Mutex> lock(mutex, std::adopt_lock);
    cv_.wait(lock, ready);
    lock.release();
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace brigade
