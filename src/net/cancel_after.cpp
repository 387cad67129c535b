#include "net/cancel_after.h"

namespace brigade {

CancelAfter::CancelAfter(grpc::ClientContext& context, std::chrono::milliseconds timeout)
    : watcher_([this, &context, timeout] {
        std::unique_lock lock(mutex_);
        if (!disarmed_.wait_for(lock, timeout, [this] { return done_; })) context.TryCancel();
      }) {}

CancelAfter::~CancelAfter() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  disarmed_.notify_all();
  watcher_.join();
}

}  // namespace brigade
