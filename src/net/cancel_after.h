#pragma once
// A deadline for one part of a gRPC stream: cancels the call unless disarmed
// (destroyed) within the timeout. gRPC's own deadline covers the whole call,
// which for an inference session lasts as long as the session.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace brigade {

class CancelAfter {
 public:
  CancelAfter(grpc::ClientContext& context, std::chrono::milliseconds timeout);
  ~CancelAfter();
  CancelAfter(const CancelAfter&) = delete;
  CancelAfter& operator=(const CancelAfter&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable disarmed_;
  bool done_ = false;
  std::thread watcher_;
};

}  // namespace brigade
