// The server's protocol core, in-process and without gRPC: what BlockService
// does with each message, called directly.

#include "server/session_host.h"

#include <gtest/gtest.h>

#include <vector>

#include "net/push.h"
#include "net/step_proof.h"
#include "server/host_fixture.h"

namespace brigade {
namespace {

// Keeps every push the host sends.
class RecordedPushes final : public PushSink {
 public:
  void push(const rpc::Hop& target, int64_t step_id, int32_t, const WireTensor& output) override {
    sent.push_back({target.session_id(), step_id, output});
  }
  struct Sent {
    std::string session;
    int64_t step;
    WireTensor output;
  };
  std::vector<Sent> sent;
};

class SessionHostTest : public test::HostFixture {
 protected:
  void SetUp() override {
    HostFixture::SetUp();
    options_.cache_tokens = 64;
    options_.alloc_wait = std::chrono::milliseconds(0);
    options_.peer_cache_share = 1;  // one client here; fair_use_test.cpp tests the shares
    host_ = make_host(options_, pushes_);
  }

  WireTensor input(int tokens, float scale) const {
    std::vector<float> values(static_cast<size_t>(tokens) * config_->hidden_size);
    for (size_t i = 0; i < values.size(); ++i) values[i] = scale * static_cast<float>(i % 7);
    return make_wire_tensor(values, {1, tokens, config_->hidden_size}, rpc::WIRE_F32);
  }

  // The step request of a tensor that fits one message.
  static rpc::InferenceRequest step_of(int64_t step, int position, const WireTensor& t) {
    return test::step_request(step, position, split_chunks(t).front());
  }

  ServerOptions options_;
  RecordedPushes pushes_;
  std::unique_ptr<SessionHost> host_;
};

TEST_F(SessionHostTest, AStepIsAnsweredSignedAndEqualsTheLocalEngine) {
  std::vector<StepOutcome> results;
  auto stream = host_->open(
      "client", open_all("s", 8), [&](const StepOutcome& o) { results.push_back(o); }, [] {});
  EXPECT_EQ(identity_.peer_id(), stream->opened().peer());
  const WireTensor x = input(3, 0.01f);
  stream->on_request(step_of(0, 0, x));
  ASSERT_EQ(1u, results.size());
  const StepOutcome& r = results[0];
  EXPECT_TRUE(verify_signature(identity_.public_key(),
                               step_proof_message("s", r.result, r.output.shape, r.output.dtype),
                               r.result.signature()));
  // The same blocks run on the local engine.
  std::vector<float> expected = x.values();
  KvCache cache(config_->num_hidden_layers, 1, config_->num_key_value_heads, config_->head_dim, 8);
  span_->forward(expected, 1, 3, 0, cache);
  EXPECT_EQ(expected, r.output.values());
}

// Recovery's replay: a fresh session given a history of one prefill and six
// decode steps as one step (under the id of the last) answers every token
// bitwise as the steps did, and its cache is the lost one: the next step
// gives the same bits on both.
TEST_F(SessionHostTest, AHistoryReplayedAsOneStepRebuildsTheCacheBitwise) {
  std::vector<StepOutcome> stepped, replayed;
  auto original = host_->open(
      "client", open_all("original", 16), [&](const StepOutcome& o) { stepped.push_back(o); },
      [] {});
  auto fresh = host_->open(
      "client", open_all("fresh", 16), [&](const StepOutcome& o) { replayed.push_back(o); }, [] {});
  std::vector<WireTensor> history = {input(5, 0.01f)};
  for (int i = 1; i <= 6; ++i) history.push_back(input(1, 0.003f * i));
  for (int s = 0, position = 0; s < static_cast<int>(history.size()); ++s) {
    original->on_request(step_of(s, position, history[s]));
    position += static_cast<int>(history[s].shape[1]);
  }
  fresh->on_request(step_of(6, 0, concat_tokens(history)));
  ASSERT_EQ(stepped.size(), 7u);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0].result.step_id(), 6);
  EXPECT_EQ(replayed[0].result.length(), 11);
  for (int s = 0, at = 0; s < 7; at += static_cast<int>(history[s].shape[1]), ++s) {
    EXPECT_EQ(slice_tokens(replayed[0].output, at, history[s].shape[1]).bytes,
              stepped[s].output.bytes)
        << "step " << s;
  }
  const WireTensor next = input(1, 0.05f);
  original->on_request(step_of(7, 11, next));
  fresh->on_request(step_of(7, 11, next));
  ASSERT_EQ(stepped.size(), 8u);
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(replayed[1].output.bytes, stepped[7].output.bytes);
  EXPECT_EQ(replayed[1].result.output_digest(), stepped[7].result.output_digest());
}

TEST_F(SessionHostTest, CacheIsReservedAtOpenAndGivenBackWhenTheStreamEnds) {
  {
    auto stream = host_->open(
        "client", open_all("a", 48), [](const StepOutcome&) {}, [] {});
    EXPECT_EQ(16, host_->cache_tokens_left());
    try {
      host_->open(
          "client", open_all("b", 32), [](const StepOutcome&) {}, [] {});
      ADD_FAILURE() << "a session larger than the free cache opened";
    } catch (const Error& e) {
      EXPECT_EQ(ErrorKind::kRefused, e.kind()) << e.what();
    }
    try {
      host_->open(
          "client", open_all("a", 8), [](const StepOutcome&) {}, [] {});
      ADD_FAILURE() << "a session id opened twice";
    } catch (const Error& e) {
      EXPECT_EQ(ErrorKind::kInvalid, e.kind()) << e.what();
    }
  }
  EXPECT_EQ(64, host_->cache_tokens_left());
}

TEST_F(SessionHostTest, ForwardRunsOnACacheOfItsOwnAndLeavesNoSession) {
  const WireTensor x = input(2, 0.02f);
  const ForwardResult result = host_->forward("test-client", 0, config_->num_hidden_layers, x);
  std::vector<float> expected = x.values();
  KvCache cache(config_->num_hidden_layers, 1, config_->num_key_value_heads, config_->head_dim, 2);
  span_->forward(expected, 1, 2, 0, cache);
  EXPECT_EQ(expected, result.output.values());
  EXPECT_EQ(64, host_->cache_tokens_left());
  rpc::InfoResponse info;
  host_->info(&info);
  EXPECT_EQ(0, info.sessions());
  EXPECT_THROW(host_->forward("test-client", 1, 1, x), Error);
}

TEST_F(SessionHostTest, PushesFollowTheRouteAndAFalsePushIsCorrected) {
  std::vector<StepOutcome> results;
  auto stream = host_->open(
      "client", open_all("s", 8), [&](const StepOutcome& o) { results.push_back(o); }, [] {});
  const Identity upstream = Identity::generate();
  rpc::InferenceRequest route;
  auto* next = route.mutable_route()->add_next();
  next->set_session_id("downstream");
  route.mutable_route()->set_upstream_peer(upstream.peer_id());
  stream->on_request(route);
  // A validly signed push of false data, then the client's true copy.
  const WireTensor truth = input(1, 0.03f), lie = input(1, 0.04f);
  const rpc::PushResponse taken = host_->push(make_push(upstream, "s", 0, 0, lie));
  EXPECT_TRUE(taken.accepted()) << taken.reason();
  stream->on_request(step_of(0, 0, truth));
  ASSERT_EQ(2u, results.size());
  EXPECT_TRUE(results[0].result.from_push());
  EXPECT_TRUE(results[1].result.corrected());
  EXPECT_EQ(upstream.peer_id(), results[1].result.bad_push_peer());
  EXPECT_EQ(1u, counters_.mismatched.load());
  // The output went on to the next hop once, for step 0.
  ASSERT_EQ(1u, pushes_.sent.size());
  EXPECT_EQ("downstream", pushes_.sent[0].session);
  // The liar's next push is refused.
  const rpc::PushResponse refused = host_->push(make_push(upstream, "s", 1, 1, truth));
  EXPECT_FALSE(refused.accepted());
}

}  // namespace
}  // namespace brigade
