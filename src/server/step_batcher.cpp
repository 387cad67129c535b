#include "server/step_batcher.h"

#include <algorithm>
#include <vector>

#include "util/error.h"

namespace brigade {
namespace {

// How long a sequence counts as one a pass may wait for.
constexpr auto kRecent = std::chrono::seconds(1);

}  // namespace

StepBatcher::StepBatcher(int max_batch_tokens, int chunk_tokens, std::chrono::microseconds gather)
    : max_batch_tokens_(max_batch_tokens), chunk_tokens_(chunk_tokens), gather_(gather) {
  require(gather.count() >= 0, "the batch gathering window must be >= 0");
  require(max_batch_tokens >= 1, "a pass must hold at least 1 token, got --max-batch-tokens {}",
          max_batch_tokens);
  require(chunk_tokens >= 1, "compute chunks must hold at least 1 token, got {}", chunk_tokens);
  thread_ = std::thread([this] { compute_loop(); });
}

StepBatcher::~StepBatcher() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    paused_ = false;
  }
  work_.notify_all();
  thread_.join();
}

void StepBatcher::forward_range(const BlockSpan& span, int first, int last, std::span<float> hidden,
                                int batch, int tokens, int position, KvCache& cache) {
  // Checked whole before the first pass: a step fails untouched or runs whole.
  span.check_batch(first, last, span.rows_of(hidden, batch, tokens, position, cache));

  Request request;
  request.span = &span;
  request.first = first;
  request.last = last;
  request.hidden = hidden.data();
  request.batch = batch;
  request.tokens = tokens;
  request.position = position;
  request.cache = &cache;
  const auto began = std::chrono::steady_clock::now();
  MutexLock lock(mutex_);
  require(!stopping_, "the server is stopping");
  request.queued_at = stats_.passes;
  queue_.push_back(&request);
  work_.notify_one();
  finished_.wait(mutex_, [&]() BRIGADE_REQUIRES(mutex_) { return request.finished; });
  if (request.error) std::rethrow_exception(request.error);
  ++stats_.steps;
  stats_.step_latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
}

std::vector<StepBatcher::Piece> StepBatcher::take_pass() {
  const Request& lead = *queue_.front();
  std::vector<Piece> pass;
  int budget = max_batch_tokens_;
  for (auto it = queue_.begin(); it != queue_.end() && budget > 0;) {
    Request& r = **it;
    if (r.span != lead.span || r.first != lead.first || r.last != lead.last) {
      ++it;  // another span's turn comes when it reaches the front
      continue;
    }
    int n = std::min({r.tokens - r.done, chunk_tokens_, budget / r.batch});
    if (n < 1) {
      if (!pass.empty()) break;
      n = 1;  // a batch wider than the budget still advances, a token at a time
    }
    pass.push_back({&r, n});
    budget -= n * r.batch;
    it = queue_.erase(it);
  }
  return pass;
}

void StepBatcher::run_pass(const std::vector<Piece>& pass, std::exception_ptr* error) {
  const Request& lead = *pass.front().request;
  const size_t width = static_cast<size_t>(lead.span->config().hidden_size);
  std::vector<SequenceStep> steps;
  for (const Piece& p : pass) {
    const Request& r = *p.request;
    for (int b = 0; b < r.batch; ++b) {
      float* rows = r.hidden + (static_cast<size_t>(b) * r.tokens + r.done) * width;
      steps.push_back({rows, p.tokens, r.position + r.done, r.cache, b});
    }
  }
  try {
    lead.span->forward_batch(lead.first, lead.last, steps);
  } catch (...) {
    *error = std::current_exception();
  }
}

void StepBatcher::compute_loop() {
  for (;;) {
    std::vector<Piece> pass = next_pass();
    if (pass.empty()) return;  // stopping, nothing left
    std::exception_ptr error;
    run_pass(pass, &error);
    end_pass(pass, error);
  }
}

std::vector<StepBatcher::Piece> StepBatcher::next_pass() {
  MutexLock lock(mutex_);
  work_.wait(mutex_, [&]() BRIGADE_REQUIRES(mutex_) {
    return (stopping_ && queue_.empty()) || (!paused_ && !queue_.empty());
  });
  if (queue_.empty()) return {};
  // Wait briefly for the rest of the sequences that ran lately.
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(recent_, [&](const auto& entry) { return now - entry.second > kRecent; });
  const size_t expected = recent_.size();
  if (gather_.count() > 0 && queue_.size() < expected) {
    work_.wait_for(mutex_, gather_, [&]() BRIGADE_REQUIRES(mutex_) {
      return stopping_ || queue_.size() >= expected;
    });
  }
  std::vector<Piece> pass = take_pass();
  for (const Piece& p : pass) {
    Request& r = *p.request;
    if (r.started) continue;
    r.started = true;
    stats_.most_passes_waited =
        std::max(stats_.most_passes_waited, static_cast<int>(stats_.passes - r.queued_at));
  }
  return pass;
}

void StepBatcher::end_pass(const std::vector<Piece>& pass, const std::exception_ptr& error) {
  {
    MutexLock lock(mutex_);
    ++stats_.passes;
    stats_.most_steps_in_a_pass =
        std::max(stats_.most_steps_in_a_pass, static_cast<int>(pass.size()));
    for (const Piece& p : pass) {
      Request& r = *p.request;
      recent_[r.cache] = std::chrono::steady_clock::now();
      stats_.tokens += static_cast<uint64_t>(p.tokens) * r.batch;
      r.done += p.tokens;
      if (error) {
        r.error = error;
        r.finished = true;
      } else if (r.done == r.tokens) {
        r.finished = true;
      } else {
        queue_.push_back(&r);  // its next chunk, behind the others
      }
    }
  }
  finished_.notify_all();
}

StepBatcher::Stats StepBatcher::stats() const {
  MutexLock lock(mutex_);
  return stats_;
}

void StepBatcher::pause() {
  MutexLock lock(mutex_);
  paused_ = true;
}

void StepBatcher::resume() {
  {
    MutexLock lock(mutex_);
    paused_ = false;
  }
  work_.notify_all();
}

int StepBatcher::queued() const {
  MutexLock lock(mutex_);
  return static_cast<int>(queue_.size());
}

}  // namespace brigade
