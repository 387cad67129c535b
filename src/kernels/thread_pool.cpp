#include "kernels/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "util/error.h"

namespace brigade::kernels {
namespace {

// How long an idle worker spins before sleeping: long enough to bridge the
// gap between two kernels of one forward pass, short enough to give the core
// back quickly when it is shared.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// Spins while `busy()` for at most kSpin, reading the clock only every 64
// turns (a clock read costs more than a turn).
template <class Busy>
void spin_while(Busy busy) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int turn = 1; busy(); ++turn) {
    cpu_relax();
    if (turn % 64 == 0 && std::chrono::steady_clock::now() >= until) return;
  }
}

int global_threads = 0;  // 0: the cores this process may run on
std::atomic<bool> global_built{false};

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  require(threads >= 1, "thread pool: --threads must be >= 1, got {}", threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work_on(const Job& job) {
  uint64_t claim = next_claim_.load();
  for (;;) {
    const auto id = static_cast<uint32_t>(claim >> 32);
    const auto task = static_cast<int>(claim & 0xFFFFFFFFu);
    if (id != job.id || task >= job.tasks) return;
    if (!next_claim_.compare_exchange_weak(claim, claim + 1)) continue;  // claim reloaded
    try {
      (*job.fn)(task);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    if (unfinished_.fetch_sub(1) == 1) {
      std::lock_guard lock(mutex_);
      done_.notify_all();
    }
    claim = next_claim_.load();
  }
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  for (;;) {
    spin_while([&] { return job_id_.load(std::memory_order_acquire) == seen; });
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || job_.id != seen; });
      if (stopping_) return;
      job = job_;
    }
    seen = job.id;
    work_on(job);
  }
}

void ThreadPool::run_rows(int rows, const std::function<void(int, int)>& fn) {
  // Below this many rows a job's hand-off costs more than the rows.
  constexpr int kMinRowsPerTask = 4;
  const int tasks = std::min(threads() * 2, rows / kMinRowsPerTask);
  if (tasks <= 1) {
    if (rows > 0) fn(0, rows);
    return;
  }
  run(tasks, [&](int i) {
    fn(static_cast<int>(static_cast<int64_t>(rows) * i / tasks),
       static_cast<int>(static_cast<int64_t>(rows) * (i + 1) / tasks));
  });
}

void ThreadPool::run(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int i = 0; i < tasks; ++i) fn(i);
    return;
  }
  std::lock_guard job_lock(run_mutex_);
  Job job;
  {
    std::lock_guard lock(mutex_);
    job = Job{job_.id + 1, tasks, &fn};
    unfinished_.store(tasks);
    next_claim_.store(static_cast<uint64_t>(job.id) << 32);
    job_ = job;
    job_id_.store(job.id, std::memory_order_release);
  }
  wake_.notify_all();
  work_on(job);
  // Spin a little for the last pieces, then sleep until they are done.
  spin_while([&] { return unfinished_.load(std::memory_order_acquire) != 0; });
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return unfinished_.load() == 0; });
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool([] {
    global_built = true;
    return global_threads > 0 ? global_threads : available_cores();
  }());
  return pool;
}

void ThreadPool::set_global_threads(int threads) {
  require(threads >= 1, "--threads must be >= 1, got {}", threads);
  require(!global_built, "--threads {}: the compute pool is already running", threads);
  global_threads = threads;
}

}  // namespace brigade::kernels
