#include "server/push_sender.h"

#include <spdlog/spdlog.h>

#include "net/limits.h"
#include "net/push.h"

namespace brigade {

PushSender::PushSender(const Identity& identity, PushCounters& counters, Transport transport)
    : identity_(identity),
      counters_(counters),
      channels_({}, transport),
      worker_([this] { run(); }) {}

PushSender::~PushSender() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void PushSender::push(const rpc::Hop& target, int64_t step_id, int32_t position,
                      const WireTensor& output) {
  Job job{target.address(), target.peer(),
          make_push(identity_, target.session_id(), step_id, position, output)};
  MutexLock lock(mutex_);
  if (queue_.size() >= limits::kMaxQueuedPushes) {
    ++counters_.send_failed;
    return;
  }
  queue_.push_back(std::move(job));
  wake_.notify_one();
}

void PushSender::run() {
  while (true) {
    Job job;
    {
      MutexLock lock(mutex_);
      wake_.wait(mutex_,
                 [this]() BRIGADE_REQUIRES(mutex_) { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    auto stub = rpc::Brigade::NewStub(channels_.channel(job.address, job.peer));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    rpc::PushResponse response;
    const grpc::Status status = stub->Push(&context, job.request, &response);
    if (status.ok()) {
      ++counters_.sent;
      if (!response.accepted()) {
        spdlog::debug("push of step {} to {} not taken: {}", job.request.step_id(), job.address,
                      response.reason());
      }
    } else {
      ++counters_.send_failed;
      spdlog::info("push of step {} to {} failed: {}", job.request.step_id(), job.address,
                   status.error_message());
    }
  }
}

}  // namespace brigade
