// Fair use (DESIGN.md): a hostile client cannot starve a server. Each case
// runs one attack against a real server process over gRPC, the attacker on
// connections of its own (a client is a connection), and checks that an
// honest client on another connection is still served, with exactly the
// outputs the local engine computes. One server serves the suite, with
// small caps so that the attacks are cheap; each case ends with the server
// holding no session and its whole cache.
//
// fair_share_test.cpp tests the same parts in-process.

#include <future>
#include <optional>

#include "model/checkpoint.h"
#include "server/server_test_util.h"

namespace brigade::test {
namespace {

using namespace std::chrono_literals;

constexpr int kLayers = 2;
constexpr int kHidden = 64;
constexpr int kCacheTokens = 256;  // 128 a client (--peer-cache-share 0.5, the default)
constexpr int kStreamsPerPeer = 4;
constexpr int kStreams = 12;
constexpr int kPendingBytes = 4096;  // two 2 KiB chunks of unfinished tensors

struct Fixture {
  TempDir dir{"brigade-fair-use"};
  std::unique_ptr<LocalSwarm> swarm;
  std::shared_ptr<const Checkpoint> checkpoint;
  std::unique_ptr<BlockSpan> span;
};

Fixture* fixture = nullptr;

class FairUse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture = new Fixture;
    const auto model = make_small_model(fixture->dir, small_model_options());
    fixture->checkpoint = Checkpoint::open(model);
    fixture->span =
        std::make_unique<BlockSpan>(ModelConfig::load(model), *fixture->checkpoint, 0, kLayers);
    ASSERT_EQ(fixture->span->config().hidden_size, kHidden);
    fixture->swarm = start_swarm(
        model,
        {{0,
          kLayers,
          {"--cache-tokens", std::to_string(kCacheTokens), "--alloc-wait", "60",
           "--idle-under-pressure", "1", "--open-timeout", "2", "--max-streams",
           std::to_string(kStreams), "--max-streams-per-peer", std::to_string(kStreamsPerPeer),
           "--max-pending-bytes", std::to_string(kPendingBytes), "--compute-chunk-tokens", "8"}}},
        fixture->dir / "logs");
  }
  static void TearDownTestSuite() {
    delete fixture;
    fixture = nullptr;
  }
  void SetUp() override { ASSERT_NE(fixture->swarm, nullptr) << "suite set-up failed"; }
  void TearDown() override {
    if (fixture == nullptr || fixture->swarm == nullptr) return;
    const auto channel = client();
    EXPECT_TRUE(ping(channel).ok());
    const rpc::InfoResponse info = wait_for_server_state(channel, 0, kCacheTokens);
    EXPECT_EQ(info.sessions(), 0);
    EXPECT_EQ(info.cache_tokens_left(), kCacheTokens);
    EXPECT_TRUE(fixture->swarm->server(0).running()) << fixture->swarm->server(0).log();
  }

  // A new client: a channel with a connection of its own.
  static std::shared_ptr<grpc::Channel> client() {
    return raw_channel(fixture->swarm->server_address(0));
  }

  static rpc::InferenceRequest step(int64_t step_id, int32_t position, const WireTensor& x) {
    return step_request(step_id, position, split_chunks(x).front());
  }
};

WireTensor values_tensor(int tokens, int seed) {
  return make_wire_tensor(test_values(static_cast<size_t>(tokens) * kHidden, seed),
                          {1, tokens, kHidden}, rpc::WIRE_F32);
}

// What the local engine gives for `steps` of one session (each at the
// session's length so far).
std::vector<std::vector<float>> local(const std::vector<WireTensor>& steps, int max_length) {
  KvCache cache = fixture->span->make_cache(1, max_length);
  std::vector<std::vector<float>> out;
  for (const auto& x : steps) {
    std::vector<float> hidden = x.values();
    fixture->span->forward(hidden, 1, static_cast<int>(x.shape[1]), cache.length(), cache);
    out.push_back(hidden);
  }
  return out;
}

// An honest client's session: a prefill and two decode steps, checked
// bitwise against the local engine.
void expect_honest_session(const std::shared_ptr<grpc::Channel>& channel, const std::string& id) {
  const std::vector<WireTensor> steps = {values_tensor(5, 1), values_tensor(1, 2),
                                         values_tensor(1, 3)};
  const InferenceCall call = run_inference(
      channel,
      {open_request(id, 0, kLayers, 32), step_request(0, 0, split_chunks(steps[0])[0]),
       step_request(1, 5, split_chunks(steps[1])[0]),
       step_request(2, 6, split_chunks(steps[2])[0])},
      120s);
  ASSERT_TRUE(call.status.ok()) << id << ": " << call.status.error_message();
  const auto expected = local(steps, 32);
  std::vector<std::vector<float>> got;
  for (const auto& r : call.responses) {
    if (r.has_result()) got.push_back(decode_values(r.result().hidden().data(), rpc::WIRE_F32));
  }
  EXPECT_EQ(got, expected) << id;
}

// --- 1. cache hog ----------------------------------------------------------------

TEST_F(FairUse, ACacheHogCannotKeepOthersOut) {
  // One client takes its whole share (half the cache) and is refused more.
  const auto hog_a = client(), hog_b = client();
  LiveSession first(hog_a, open_request("hog-a", 0, kLayers, 128));
  ASSERT_TRUE(first.opened());
  const InferenceCall more = run_inference(hog_a, {open_request("hog-a-2", 0, kLayers, 1)});
  EXPECT_EQ(more.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(more.status.error_message().find("cache full for this client: a session needs 1 "
                                             "tokens"),
            std::string::npos)
      << more.status.error_message();
  // A second connection takes the other half: the cache is full. Both keep
  // their sessions "alive" with a one-token step, the first one first.
  LiveSession second(hog_b, open_request("hog-b", 0, kLayers, 128));
  ASSERT_TRUE(second.opened());
  EXPECT_EQ(server_info(client()).cache_tokens_left(), 0);
  std::vector<float> out;
  ASSERT_TRUE(first.answer(step(0, 0, values_tensor(1, 7))));
  ASSERT_TRUE(second.answer(step(0, 0, values_tensor(1, 8))));
  // An honest client waits for cache instead of failing, and gets it once
  // the longest idle session is closed (idle past --idle-under-pressure 1).
  expect_honest_session(client(), "honest");
  rpc::InferenceResponse response;
  EXPECT_FALSE(first.stream->Read(&response));
  EXPECT_EQ(first.stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Only as much as the waiter needed was closed: the other hog still works.
  ASSERT_TRUE(second.answer(step(1, 1, values_tensor(1, 9)), &out));
  EXPECT_EQ(out, local({values_tensor(1, 8), values_tensor(1, 9)}, 128).back());
  second.stream->WritesDone();
  EXPECT_TRUE(second.stream->Finish().ok());
}

// --- 2. streams that hold threads ---------------------------------------------------

TEST_F(FairUse, StreamsPastTheCapsAreRefusedAtOnce) {
  // One client holds its 4 streams (open sessions); a fifth Inference or
  // Forward stream of it is refused at once, its thread freed.
  const auto greedy = client();
  std::vector<std::unique_ptr<LiveSession>> held;
  for (int i = 0; i < kStreamsPerPeer; ++i) {
    held.push_back(std::make_unique<LiveSession>(
        greedy, open_request("held-" + std::to_string(i), 0, kLayers, 4)));
    ASSERT_TRUE(held.back()->opened());
  }
  const InferenceCall refused = run_inference(greedy, {open_request("fifth", 0, kLayers, 4)});
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.status.error_message().find("too many streams"), std::string::npos)
      << refused.status.error_message();
  const ForwardCall forward = run_forward(
      greedy,
      {forward_request(0, kLayers, tensor_chunk({1, 1, kHidden}, values_tensor(1, 1).bytes))});
  EXPECT_EQ(forward.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another client is served.
  expect_honest_session(client(), "honest-1");
  // Two more clients fill the server's 12 streams: a new client is refused
  // at once rather than left hanging ...
  for (int c = 0; c < 2; ++c) {
    const auto channel = client();
    for (int i = 0; i < kStreamsPerPeer; ++i) {
      held.push_back(std::make_unique<LiveSession>(
          channel, open_request("more-" + std::to_string(c * 10 + i), 0, kLayers, 4)));
      ASSERT_TRUE(held.back()->opened());
    }
  }
  const auto late = client();
  const InferenceCall full = run_inference(late, {open_request("late", 0, kLayers, 4)});
  EXPECT_EQ(full.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(full.status.error_message().find("the server holds 12"), std::string::npos)
      << full.status.error_message();
  // ... and served once streams end.
  for (auto& session : held) {
    session->stream->WritesDone();
    EXPECT_TRUE(session->stream->Finish().ok());
  }
  held.clear();
  expect_honest_session(late, "honest-2");
}

TEST_F(FairUse, SilentStreamsAreCancelled) {
  // Streams that never send a message: 4 Inference streams on one
  // connection, 2 Forward streams on another. The server cancels each after
  // --open-timeout 2 (the clients' own deadline is far later), and serves
  // an honest client meanwhile.
  const auto silent_a = client(), silent_b = client();
  struct Silent {
    std::unique_ptr<rpc::Brigade::Stub> stub;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<rpc::InferenceRequest, rpc::InferenceResponse>>
        inference;
    std::unique_ptr<grpc::ClientReaderWriter<rpc::ForwardRequest, rpc::ForwardResponse>> forward;
  };
  std::vector<std::unique_ptr<Silent>> silent;
  for (int i = 0; i < 6; ++i) {
    auto s = std::make_unique<Silent>();
    s->stub = rpc::Brigade::NewStub(i < 4 ? silent_a : silent_b);
    s->context.set_deadline(std::chrono::system_clock::now() + 30s);
    if (i < 4) {
      s->inference = s->stub->Inference(&s->context);
    } else {
      s->forward = s->stub->Forward(&s->context);
    }
    silent.push_back(std::move(s));
  }
  expect_honest_session(client(), "honest");
  for (auto& s : silent) {
    const grpc::Status status = s->inference ? s->inference->Finish() : s->forward->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  }
}

// --- 3. unfinished tensors ------------------------------------------------------------

TEST_F(FairUse, UnfinishedTensorsAreBoundedAndFreed) {
  // Six sessions on two connections each send the first half of a 16-token
  // step (2 KiB) and nothing more. The server buffers 4 KiB of unfinished
  // tensors: exactly two are held, four are refused and their streams ended.
  const WireTensor x = values_tensor(16, 4);
  auto half = [&](uint32_t index) {
    return tensor_chunk(index == 0 ? std::vector<int64_t>{1, 16, kHidden} : std::vector<int64_t>{},
                        x.bytes.substr(index * x.bytes.size() / 2, x.bytes.size() / 2),
                        rpc::WIRE_F32, index, 2);
  };
  const auto attacker_a = client(), attacker_b = client();
  std::vector<std::unique_ptr<LiveSession>> sessions;
  // Each session's next answer, or nothing once the server ended its stream.
  std::vector<std::future<std::optional<rpc::InferenceResponse>>> answers;
  for (int i = 0; i < 6; ++i) {
    sessions.push_back(
        std::make_unique<LiveSession>(i % 2 ? attacker_b : attacker_a,
                                      open_request("half-" + std::to_string(i), 0, kLayers, 16)));
    ASSERT_TRUE(sessions.back()->opened());
    ASSERT_TRUE(sessions.back()->stream->Write(step_request(0, 0, half(0))));
    LiveSession* session = sessions.back().get();
    answers.push_back(std::async(std::launch::async, [session] {
      rpc::InferenceResponse response;
      return session->stream->Read(&response) ? std::optional(response) : std::nullopt;
    }));
  }
  auto count_ended = [&] {
    int n = 0;
    for (auto& a : answers) n += a.wait_for(0s) == std::future_status::ready ? 1 : 0;
    return n;
  };
  while (count_ended() < 4) std::this_thread::sleep_for(10ms);
  std::vector<size_t> held;
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (answers[i].wait_for(0s) == std::future_status::ready) {
      EXPECT_FALSE(answers[i].get().has_value());
      const grpc::Status status = sessions[i]->stream->Finish();
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_NE(status.error_message().find("unfinished tensors hold 4096 of the 4096 bytes"),
                std::string::npos)
          << status.error_message();
    } else {
      held.push_back(i);
    }
  }
  ASSERT_EQ(held.size(), 2u);
  // Meanwhile an honest client's steps (one message each) are served, and a
  // Forward tensor in two chunks is refused: the budget is shared.
  expect_honest_session(client(), "honest");
  const auto honest = client();
  const std::vector<rpc::ForwardRequest> two_chunks = {forward_request(0, kLayers, half(0)),
                                                       forward_request(0, kLayers, half(1))};
  EXPECT_EQ(run_forward(honest, two_chunks).status.error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The held steps complete with their second half, exactly.
  const auto expected = local({x}, 16)[0];
  for (size_t i : held) {
    ASSERT_TRUE(sessions[i]->stream->Write(step_request(0, 0, half(1))));
    const auto answer = answers[i].get();
    ASSERT_TRUE(answer.has_value() && answer->has_result()) << "a held step was not answered";
    EXPECT_EQ(decode_values(answer->result().hidden().data(), rpc::WIRE_F32), expected);
    sessions[i]->stream->WritesDone();
    EXPECT_TRUE(sessions[i]->stream->Finish().ok());
  }
  // With the budget free again, the two-chunk Forward is served, exactly.
  const ForwardCall served = run_forward(honest, two_chunks);
  ASSERT_TRUE(served.status.ok()) << served.status.error_message();
  ASSERT_EQ(served.responses.size(), 1u);
  EXPECT_EQ(decode_values(served.responses[0].hidden().data(), rpc::WIRE_F32), expected);
}

// --- 4. compute ---------------------------------------------------------------------

TEST_F(FairUse, LongStepsAndAnotherClientsDecodeAreBothExact) {
  // One client replays 128-token steps (run in chunks of 8 taking turns)
  // while another decodes: both get exactly what the local engine computes.
  const WireTensor prefill = values_tensor(128, 5);
  auto replay = std::async(std::launch::async, [&] {
    std::vector<rpc::InferenceRequest> requests = {open_request("replay", 0, kLayers, 128)};
    for (int i = 0; i < 6; ++i) requests.push_back(step(i, 0, prefill));
    return run_inference(client(), requests, 120s);
  });
  std::vector<WireTensor> decode_steps;
  std::vector<rpc::InferenceRequest> requests = {open_request("decode", 0, kLayers, 32)};
  for (int i = 0; i < 24; ++i) {
    decode_steps.push_back(values_tensor(1, 20 + i));
    requests.push_back(step(i, i, decode_steps.back()));
  }
  const InferenceCall decode = run_inference(client(), requests, 120s);
  const InferenceCall replayed = replay.get();
  ASSERT_TRUE(decode.status.ok()) << decode.status.error_message();
  ASSERT_TRUE(replayed.status.ok()) << replayed.status.error_message();
  const auto expected = local(decode_steps, 32);
  std::vector<std::vector<float>> got;
  for (const auto& r : decode.responses) {
    if (r.has_result()) got.push_back(decode_values(r.result().hidden().data(), rpc::WIRE_F32));
  }
  EXPECT_EQ(got, expected);
  const auto expected_prefill = local({prefill}, 128)[0];
  // A 128-token f32 output is 32 KiB: one chunk per result.
  ASSERT_EQ(replayed.results(), 6);
  for (const auto& r : replayed.responses) {
    if (r.has_result()) {
      EXPECT_EQ(decode_values(r.result().hidden().data(), rpc::WIRE_F32), expected_prefill);
    }
  }
}

}  // namespace
}  // namespace brigade::test
