// Server hygiene (issue 5, item 4): a session ends when its client
// disconnects, goes idle past `--session-timeout`, stops reading, or sends
// something invalid, and every way out gives its KV cache back to the
// budget. One server (`--session-timeout 2 --cache-tokens 256
// --peer-cache-share 1 --alloc-wait 3`) serves the whole suite; each case ends with the server
// holding no session and its whole budget.

#include <atomic>
#include <future>

#include "server/server_test_util.h"

namespace brigade::test {
namespace {

constexpr int kLayers = 2;
constexpr int kHidden = 64;
constexpr int kCacheTokens = 256;
constexpr int kTimeoutS = 2;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Fixture {
  TempDir dir{"brigade-hygiene"};
  std::unique_ptr<LocalSwarm> swarm;
  std::shared_ptr<grpc::Channel> channel;
};

Fixture* fixture = nullptr;

class SessionHygiene : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture = new Fixture;
    const auto model = make_small_model(fixture->dir, small_model_options());
    fixture->swarm = start_swarm(model,
                                 {{0,
                                   kLayers,
                                   {"--session-timeout", std::to_string(kTimeoutS),
                                    "--cache-tokens", std::to_string(kCacheTokens),
                                    // One session may hold the whole cache;
                                    // opens wait 3 s for it.
                                    "--peer-cache-share", "1", "--alloc-wait", "3"}}},
                                 fixture->dir / "logs");
    fixture->channel = raw_channel(fixture->swarm->server_address(0));
  }
  static void TearDownTestSuite() {
    delete fixture;
    fixture = nullptr;
  }
  void SetUp() override { ASSERT_NE(fixture->channel, nullptr) << "suite set-up failed"; }
  void TearDown() override {
    if (fixture == nullptr || fixture->channel == nullptr) return;  // set-up failed
    EXPECT_TRUE(ping(channel()).ok());
    const rpc::InfoResponse info = wait_for_server_state(channel(), 0, kCacheTokens);
    EXPECT_EQ(info.sessions(), 0);
    EXPECT_EQ(info.cache_tokens_left(), kCacheTokens);
  }
  std::shared_ptr<grpc::Channel> channel() const { return fixture->channel; }
};

TEST_F(SessionHygiene, IdleSessionIsClosedAfterTheTimeout) {
  LiveSession session(channel(), open_request("idle", 0, kLayers, 128));
  ASSERT_TRUE(session.opened());
  ASSERT_TRUE(session.step(0, 0, 3));
  EXPECT_EQ(server_info(channel()).cache_tokens_left(), kCacheTokens - 128);
  const auto idle_since = Clock::now();
  rpc::InferenceResponse response;
  EXPECT_FALSE(session.stream->Read(&response));  // blocks until the server ends the call
  const double idle_s = seconds_since(idle_since);
  const grpc::Status status = session.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  EXPECT_GE(idle_s, kTimeoutS - 0.2);
  EXPECT_LE(idle_s, kTimeoutS + 2.0);
}

TEST_F(SessionHygiene, SessionOpenedButNeverUsedIsClosedAfterTheTimeout) {
  LiveSession session(channel(), open_request("never-used", 0, kLayers, 64));
  ASSERT_TRUE(session.opened());
  const auto since = Clock::now();
  rpc::InferenceResponse response;
  EXPECT_FALSE(session.stream->Read(&response));
  EXPECT_LE(seconds_since(since), kTimeoutS + 2.0);
  EXPECT_EQ(session.stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(SessionHygiene, ActiveSessionOutlivesTheTimeout) {
  LiveSession session(channel(), open_request("active", 0, kLayers, 64));
  ASSERT_TRUE(session.opened());
  const auto began = Clock::now();
  int64_t step = 0;
  // A step every 0.6 s for twice the timeout: never idle long enough.
  while (seconds_since(began) < 2 * kTimeoutS) {
    ASSERT_TRUE(session.step(step, static_cast<int>(step), 1))
        << "closed after " << seconds_since(began) << " s";
    ++step;
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
  }
  session.stream->WritesDone();
  EXPECT_TRUE(session.stream->Finish().ok());
}

TEST_F(SessionHygiene, ClientCancelFreesTheCache) {
  LiveSession session(channel(), open_request("cancelled", 0, kLayers, 100));
  ASSERT_TRUE(session.opened());
  ASSERT_TRUE(session.step(0, 0, 5));
  EXPECT_EQ(server_info(channel()).cache_tokens_left(), kCacheTokens - 100);
  session.context.TryCancel();  // what a client that goes away does to the stream
  // Freed long before the idle timeout would have.
  const auto since = Clock::now();
  const rpc::InfoResponse info = wait_for_server_state(channel(), 0, kCacheTokens);
  EXPECT_EQ(info.cache_tokens_left(), kCacheTokens);
  EXPECT_LT(seconds_since(since), kTimeoutS - 0.5);
}

TEST_F(SessionHygiene, ClientThatDropsTheStreamObjectFreesTheCache) {
  {
    LiveSession session(channel(), open_request("dropped", 0, kLayers, 100));
    ASSERT_TRUE(session.opened());
    ASSERT_TRUE(session.step(0, 0, 5));
  }  // no WritesDone, no Finish: the call is abandoned
  const auto since = Clock::now();
  const rpc::InfoResponse info = wait_for_server_state(channel(), 0, kCacheTokens);
  EXPECT_EQ(info.cache_tokens_left(), kCacheTokens);
  EXPECT_LT(seconds_since(since), kTimeoutS - 0.5);
}

TEST_F(SessionHygiene, ErrorFreesTheCache) {
  LiveSession session(channel(), open_request("bad", 0, kLayers, 100));
  ASSERT_TRUE(session.opened());
  ASSERT_TRUE(session.step(0, 0, 2));
  EXPECT_FALSE(session.step(0, 2, 1));  // a step id again
  const grpc::Status status = session.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("step 0 arrived, expected step 1"), std::string::npos)
      << status.error_message();
}

TEST_F(SessionHygiene, ClientThatNeverReadsIsClosedAfterTheTimeout) {
  // The client keeps sending 64-token steps (rolling back to position 0)
  // and never reads an answer: the server blocks writing to it, then the
  // idle timeout ends the call, and the cache comes back.
  auto stub = rpc::Brigade::NewStub(channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->Inference(&context);
  ASSERT_TRUE(stream->Write(open_request("deaf", 0, kLayers, 64)));
  constexpr int64_t kMaxSteps = 4000;  // 64 MB of input: far more than gRPC buffers
  int64_t sent = 0;
  while (sent < kMaxSteps && stream->Write(value_step(sent, 0, 64, kHidden))) ++sent;
  EXPECT_LT(sent, kMaxSteps) << "the server never pushed back";
  // Drain what the server sent before it gave up on us, then the status.
  stream->WritesDone();
  rpc::InferenceResponse response;
  int answers = 0;
  while (stream->Read(&response)) ++answers;
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  EXPECT_LT(answers, sent);
}

TEST_F(SessionHygiene, CacheFullWaitsThenRefusesThenRecovers) {
  // One session takes the whole budget.
  LiveSession big(channel(), open_request("big", 0, kLayers, 128, 2));
  ASSERT_TRUE(big.opened());
  EXPECT_EQ(server_info(channel()).cache_tokens_left(), 0);
  // Another client's open waits for cache (--alloc-wait 3), then is refused
  // clearly.
  // Meanwhile the big session stays active (a one-token step every 0.5 s),
  // or the idle timeout would free its cache first.
  std::atomic<bool> waiting_done{false};
  auto keep_alive = std::async(std::launch::async, [&] {
    int64_t step = 0;
    while (!waiting_done) {
      if (!big.step(step, 0, 1, 2)) return false;
      ++step;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return true;
  });
  const auto other = raw_channel(fixture->swarm->server_address(0));  // another client
  const auto began = Clock::now();
  const InferenceCall refused = run_inference(other, {open_request("small", 0, kLayers, 16)});
  waiting_done = true;
  EXPECT_TRUE(keep_alive.get()) << "the big session failed while another open waited";
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.status.error_message().find("cache full"), std::string::npos)
      << refused.status.error_message();
  EXPECT_NE(refused.status.error_message().find("after waiting 3000 ms"), std::string::npos)
      << refused.status.error_message();
  EXPECT_GE(seconds_since(began), 2.5);
  // An open waiting while the big session ends gets the freed cache.
  auto waiting = std::async(std::launch::async, [&] {
    return run_inference(other,
                         {open_request("small-2", 0, kLayers, 16), value_step(0, 0, 1, kHidden)});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  big.stream->WritesDone();
  EXPECT_TRUE(big.stream->Finish().ok());
  const InferenceCall after = waiting.get();
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.results(), 1);
}

}  // namespace
}  // namespace brigade::test
