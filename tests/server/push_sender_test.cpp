// The push sender against next hops of the test's own (in-process gRPC
// servers with TLS identities): one that takes pushes and never answers must
// not delay pushes to another next hop (issue 10, item 3).

#include "server/push_sender.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "net/tls.h"

namespace brigade {
namespace {

using namespace std::chrono_literals;

// A next hop: answers pushes at once, or (`hangs`) holds each until released.
class NextHop final : public rpc::Brigade::Service {
 public:
  explicit NextHop(bool hangs) : hangs_(hangs) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", server_credentials(identity_), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~NextHop() override {
    release();
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  grpc::Status Push(grpc::ServerContext* context, const rpc::PushRequest* request,
                    rpc::PushResponse* response) override {
    std::unique_lock lock(mutex_);
    steps_.push_back(request->step_id());
    changed_.notify_all();
    if (hangs_) {
      changed_.wait(lock, [&] { return released_ || context->IsCancelled(); });
    }
    response->set_accepted(true);
    return grpc::Status::OK;
  }

  rpc::Hop hop() const {
    rpc::Hop hop;
    hop.set_peer(identity_.peer_id());
    hop.set_address(address_);
    hop.set_session_id("session-at-" + address_);
    return hop;
  }
  // Waits (up to `timeout`) until `count` pushes have arrived; returns them.
  std::vector<int64_t> wait_for(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return steps_.size() >= count; });
    return steps_;
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  const bool hangs_;
  const Identity identity_ = Identity::generate();
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int64_t> steps_;
  bool released_ = false;
};

WireTensor output() {
  return make_wire_tensor(std::vector<float>(8, 0.5f), {1, 2, 4}, rpc::WIRE_F32);
}

TEST(PushSender, AHopThatNeverAnswersDelaysOnlyItsOwnPushes) {
  NextHop dead(/*hangs=*/true), alive(/*hangs=*/false);
  PushCounters counters;
  const Identity identity = Identity::generate();
  {
    PushSender sender(identity, counters, Transport::kTls);
    sender.push(dead.hop(), 0, 0, output());
    ASSERT_EQ(dead.wait_for(1, 10s).size(), 1u) << "the first push never reached the dead hop";
    sender.push(dead.hop(), 1, 2, output());
    sender.push(alive.hop(), 0, 0, output());
    sender.push(alive.hop(), 1, 2, output());
    // The dead hop still holds its first push; the other hop got both of its
    // own, in order. (One worker for all would still be waiting.)
    EXPECT_EQ(alive.wait_for(2, 10s), (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(dead.wait_for(1, 0ms).size(), 1u);
    dead.release();
    EXPECT_EQ(dead.wait_for(2, 10s), (std::vector<int64_t>{0, 1}));
  }
  EXPECT_EQ(counters.sent.load(), 4u);
  EXPECT_EQ(counters.send_failed.load(), 0u);
}

TEST(PushSender, PushesToOneHopPastItsQueueAreDropped) {
  NextHop dead(/*hangs=*/true);
  PushCounters counters;
  const Identity identity = Identity::generate();
  {
    PushSender sender(identity, counters, Transport::kTls);
    sender.push(dead.hop(), 0, 0, output());
    ASSERT_EQ(dead.wait_for(1, 10s).size(), 1u);
    // One push in flight; the queue behind it holds kMaxQueuedPushes more.
    for (int i = 1; i <= static_cast<int>(limits::kMaxQueuedPushes) + 3; ++i) {
      sender.push(dead.hop(), i, 2 * i, output());
    }
    EXPECT_EQ(counters.send_failed.load(), 3u);
    dead.release();
  }
}

}  // namespace
}  // namespace brigade
