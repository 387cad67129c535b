// The client's end of a hop session against servers that misbehave at open,
// in-process: a gRPC server of our own that answers nothing or lies.

#include "client/remote_session.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "net/channels.h"

namespace brigade {
namespace {

// Accepts every session stream, reads the open and then answers according to
// `mode`: never (until the client gives up), or opened as another peer.
class HostileOpens final : public rpc::Brigade::Service {
 public:
  enum class Mode { kSilent, kWrongPeer };
  explicit HostileOpens(Mode mode) : mode_(mode) {}

  grpc::Status Inference(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<rpc::InferenceResponse, rpc::InferenceRequest>* stream) override {
    rpc::InferenceRequest request;
    if (!stream->Read(&request)) return grpc::Status::OK;
    if (mode_ == Mode::kWrongPeer) {
      rpc::InferenceResponse opened;
      opened.mutable_opened()->set_peer("someone-else");
      stream->Write(opened);
    }
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::CANCELLED;
  }

 private:
  Mode mode_;
};

class RemoteSessionOpen : public ::testing::Test {
 protected:
  void start(HostileOpens::Mode mode) {
    service_ = std::make_unique<HostileOpens>(mode);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", server_credentials(identity_), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    hop_.peer = identity_.peer_id();
    hop_.address = "127.0.0.1:" + std::to_string(port);
    hop_.end = 1;
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  HopFailure open_fails() {
    SessionParams params;
    params.max_length = 4;
    params.hidden_size = 8;
    ChannelPool channels;
    try {
      RemoteSession session(hop_, channels.channel(hop_.address, hop_.peer), params,
                            std::chrono::milliseconds(300));
    } catch (const HopFailure& failure) {
      return failure;
    }
    ADD_FAILURE() << "the open succeeded";
    return HopFailure(hop_.peer, ErrorKind::kInvalid, "none");
  }

  const Identity identity_ = Identity::generate();
  std::unique_ptr<HostileOpens> service_;
  std::unique_ptr<grpc::Server> server_;
  RouteHop hop_;
};

TEST_F(RemoteSessionOpen, AServerThatNeverAnswersTheOpenIsUnavailableNotAHang) {
  start(HostileOpens::Mode::kSilent);
  const HopFailure failure = open_fails();
  EXPECT_EQ(ErrorKind::kUnavailable, failure.kind()) << failure.what();
  EXPECT_TRUE(failure.stalled) << "a server that takes the stream and says nothing stalls";
  EXPECT_EQ(identity_.peer_id(), failure.peer);
}

TEST_F(RemoteSessionOpen, AServerAnsweringAsAnotherPeerMisbehaves) {
  start(HostileOpens::Mode::kWrongPeer);
  const HopFailure failure = open_fails();
  EXPECT_EQ(ErrorKind::kMisbehaved, failure.kind()) << failure.what();
  EXPECT_NE(std::string(failure.what()).find("answered as peer someone-else"), std::string::npos)
      << failure.what();
}

}  // namespace
}  // namespace brigade
