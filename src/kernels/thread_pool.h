#pragma once
// A persistent pool of worker threads for the kernels. One job runs at a
// time (callers from several sessions take turns); a job is `tasks`
// independent pieces that the workers and the calling thread claim one by
// one, so a worker that the OS deschedules delays only the piece it holds:
// on shared cores the pool loses about the share of CPU it lost, not more.
// Idle workers spin briefly (the next kernel of a forward pass usually
// follows within microseconds) and then sleep on a condition variable.

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace brigade::kernels {

class ThreadPool {
 public:
  // `threads` counts the caller: a pool of 1 runs everything on the caller.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(i) for every i in [0, tasks) and returns when all have run.
  // Which thread runs which i is unspecified: fn must not care. When calls
  // of fn throw, the other tasks still run to the end and run() then rethrows
  // the first exception.
  // REQUIRES: fn does not call run() on this pool (it would wait for itself).
  void run(int tasks, const std::function<void(int)>& fn);

  // Runs fn(begin, end) over ranges that cover [0, rows): the row-wise work
  // between the kernels (norms, RoPE, SiLU, quantizing activations). One
  // range on the caller when there are too few rows to be worth a job.
  void run_rows(int rows, const std::function<void(int begin, int end)>& fn);

  // The process-wide pool the kernels use; sized by set_global_threads()
  // (brigade's --threads), else by the number of cores.
  static ThreadPool& global();
  // Throws Error when called after the first global() (the pool exists by
  // then) or with threads < 1.
  static void set_global_threads(int threads);

 private:
  // What a thread works on: one job, claimed task by task.
  struct Job {
    uint32_t id;
    int tasks;
    const std::function<void(int)>* fn;
  };
  void worker_loop();
  void work_on(const Job& job);

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stopping_ = false;
  Job job_{0, 0, nullptr};           // guarded by mutex_
  std::atomic<uint32_t> job_id_{0};  // job_.id, readable without the mutex
  // (job id << 32) | next task index: a claim succeeds only for the job the
  // thread read, so a late thread can never take a task of the next job.
  std::atomic<uint64_t> next_claim_{0};
  std::atomic<int> unfinished_{0};
  std::exception_ptr failure_;  // the job's first exception; guarded by mutex_
};

}  // namespace brigade::kernels
