#include "server/push_sender.h"

#include <spdlog/spdlog.h>

#include "net/limits.h"
#include "net/push.h"

namespace brigade {

PushSender::PushSender(const Identity& identity, PushCounters& counters, Transport transport)
    : identity_(identity), counters_(counters), channels_({}, transport) {}

PushSender::~PushSender() {
  std::vector<std::thread> workers;
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    for (auto& [key, destination] : destinations_) {
      if (destination->worker.joinable()) workers.push_back(std::move(destination->worker));
    }
  }
  wake_.notify_all();
  for (auto& worker : workers) worker.join();
}

void PushSender::push(const rpc::Hop& target, int64_t step_id, int32_t position,
                      const WireTensor& output) {
  rpc::PushRequest request = make_push(identity_, target.session_id(), step_id, position, output);
  const Key key{target.address(), target.peer()};
  std::vector<std::thread> finished;  // workers that ended, joined outside the lock
  bool queued = false;
  {
    MutexLock lock(mutex_);
    if (Destination* destination = destination_for(key, finished);
        destination != nullptr && destination->queue.size() < limits::kMaxQueuedPushes) {
      destination->queue.push_back(std::move(request));
      queued = true;
      if (!destination->serving) {
        destination->serving = true;
        finished.push_back(std::move(destination->worker));
        destination->worker = std::thread([this, key, destination] { serve(key, *destination); });
      }
    }
  }
  if (queued) {
    wake_.notify_all();
  } else {
    ++counters_.send_failed;
  }
  // Each ended when it cleared `serving`, under the lock: joining is quick.
  for (auto& worker : finished) {
    if (worker.joinable()) worker.join();
  }
}

PushSender::Destination* PushSender::destination_for(const Key& key,
                                                     std::vector<std::thread>& finished) {
  if (auto it = destinations_.find(key); it != destinations_.end()) return it->second.get();
  if (destinations_.size() >= kMaxDestinations) {
    // Make room: destinations with nothing queued and no worker go.
    std::erase_if(destinations_, [&finished](auto& entry) {
      Destination& d = *entry.second;
      if (d.serving || !d.queue.empty()) return false;
      finished.push_back(std::move(d.worker));
      return true;
    });
  }
  if (destinations_.size() >= kMaxDestinations) return nullptr;
  return destinations_.emplace(key, std::make_unique<Destination>()).first->second.get();
}

void PushSender::serve(const Key& key, Destination& destination) {
  while (true) {
    rpc::PushRequest request;
    {
      MutexLock lock(mutex_);
      const bool woken = wake_.wait_for(mutex_, kIdleWorker, [&]() BRIGADE_REQUIRES(mutex_) {
        return stopping_ || !destination.queue.empty();
      });
      if (stopping_) return;
      if (!woken) {
        destination.serving = false;
        return;
      }
      request = std::move(destination.queue.front());
      destination.queue.pop_front();
    }
    send(key, request);
  }
}

void PushSender::send(const Key& key, const rpc::PushRequest& request) {
  const auto& [address, peer] = key;
  auto stub = rpc::Brigade::NewStub(channels_.channel(address, peer));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kPushDeadline);
  rpc::PushResponse response;
  const grpc::Status status = stub->Push(&context, request, &response);
  if (status.ok()) {
    ++counters_.sent;
    if (!response.accepted()) {
      spdlog::debug("push of step {} to {} not taken: {}", request.step_id(), address,
                    response.reason());
    }
  } else {
    ++counters_.send_failed;
    spdlog::info("push of step {} to {} failed: {}", request.step_id(), address,
                 status.error_message());
  }
}

}  // namespace brigade
