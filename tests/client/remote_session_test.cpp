// The client's end of a hop session against servers that misbehave at open,
// in-process: a gRPC server of our own that answers nothing or lies.

#include "client/remote_session.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/hostile_server.h"
#include "net/channels.h"

namespace brigade {
namespace {

class RemoteSessionOpen : public ::testing::Test {
 protected:
  void start(test::HostileServer::Mode mode) {
    server_ = std::make_unique<test::HostileServer>(mode);
    hop_.peer = server_->identity().peer_id();
    hop_.address = server_->address();
    hop_.end = 1;
  }

  HopFailure open_fails() {
    SessionParams params;
    params.max_length = 4;
    params.hidden_size = 8;
    ChannelPool channels;
    Watchdog watchdog;
    try {
      RemoteSession session(hop_, channels.channel(hop_.address, hop_.peer), params,
                            std::chrono::milliseconds(300), watchdog);
    } catch (const HopFailure& failure) {
      return failure;
    }
    ADD_FAILURE() << "the open succeeded";
    return HopFailure(hop_.peer, ErrorKind::kInvalid, "none");
  }

  std::unique_ptr<test::HostileServer> server_;
  RouteHop hop_;
};

TEST_F(RemoteSessionOpen, AServerThatNeverAnswersTheOpenIsUnavailableNotAHang) {
  start(test::HostileServer::Mode::kHangAtOpen);
  const HopFailure failure = open_fails();
  EXPECT_EQ(ErrorKind::kUnavailable, failure.kind()) << failure.what();
  EXPECT_TRUE(failure.stalled) << "a server that takes the stream and says nothing stalls";
  EXPECT_EQ(server_->identity().peer_id(), failure.peer);
}

TEST_F(RemoteSessionOpen, AServerAnsweringAsAnotherPeerMisbehaves) {
  start(test::HostileServer::Mode::kWrongPeer);
  const HopFailure failure = open_fails();
  EXPECT_EQ(ErrorKind::kMisbehaved, failure.kind()) << failure.what();
  EXPECT_NE(std::string(failure.what()).find("answered as peer someone-else"), std::string::npos)
      << failure.what();
}

}  // namespace
}  // namespace brigade
