// Hostile input (issue 5, item 3): a real server process is sent every kind
// of invalid message over raw gRPC — wrong shapes, batches, dtypes, positions,
// step ids, sizes, values, chunk counts, opens, spans, pushes and bytes that
// are not protobuf at all. Each must end that call with a clear status (or
// be dropped, for pushes), and after each one the server must still answer a
// ping, hold exactly the sessions and cache it held before, and a valid
// session opened at the start must keep computing what the local engine
// computes.

#include <grpcpp/generic/generic_stub.h>

#include <cmath>
#include <limits>

#include "client/remote_session.h"
#include "model/checkpoint.h"
#include "net/identity.h"
#include "net/limits.h"
#include "net/push.h"
#include "net/step_proof.h"
#include "server/server_test_util.h"

namespace brigade::test {
namespace {

constexpr int kLayers = 2;  // small_model_options()
constexpr int kHidden = 64;
constexpr int kMaxPositions = 128;
constexpr int kValidMaxLength = 128;
constexpr int kCacheTokens = 4096;  // the server's budget: less than one 64 x 128 session

// Everything the suite shares: one server over the whole model, the local
// engine, and a valid session that every test's teardown advances by one token.
struct Fixture {
  TempDir dir{"brigade-hostile"};
  std::filesystem::path model;
  std::unique_ptr<LocalSwarm> swarm;
  std::shared_ptr<grpc::Channel> channel;
  std::shared_ptr<const Checkpoint> checkpoint;
  std::unique_ptr<BlockSpan> span;
  std::unique_ptr<KvCache> local_cache;
  Watchdog watchdog;  // before `valid`, which it times
  std::unique_ptr<RemoteSession> valid;
  std::string peer;
  std::string public_key;
  int64_t next_step = 0;
  int position = 0;
  int64_t baseline_cache_left = 0;  // with only the valid session open
};

Fixture* fixture = nullptr;

// Runs one step of the valid session and checks it against the local engine.
void expect_valid_session_step(int tokens) {
  Fixture& f = *fixture;
  ASSERT_LE(f.position + tokens, kValidMaxLength) << "the valid session ran out of positions";
  const int64_t step = f.next_step++;
  const auto values =
      test_values(static_cast<size_t>(tokens) * kHidden, 1000 + static_cast<int>(step));
  const WireTensor input = make_wire_tensor(values, {1, tokens, kHidden}, rpc::WIRE_F32);
  f.valid->send_step(step, f.position, input);
  const ReceivedStep got = f.valid->wait_result(step, std::chrono::seconds(20));
  std::vector<float> expected = values;
  f.span->forward(expected, 1, tokens, f.position, *f.local_cache);
  f.position += tokens;
  const std::vector<float> remote = got.output.values();
  ASSERT_EQ(remote.size(), expected.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff = std::max(diff, std::fabs(double{remote[i]} - expected[i]));
    scale = std::max(scale, std::fabs(double{expected[i]}));
  }
  EXPECT_LE(diff, 1e-4 * std::max(1.0, scale)) << "valid session step " << step << " diverged";
  EXPECT_EQ(got.meta.length(), f.position);
}

class HostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture = new Fixture;
    Fixture& f = *fixture;
    MakeModelOptions options = small_model_options();
    ASSERT_EQ(options.layers, kLayers);
    ASSERT_EQ(options.hidden, kHidden);
    ASSERT_EQ(options.max_position_embeddings, kMaxPositions);
    f.model = make_small_model(f.dir, options);
    f.swarm = start_swarm(f.model, {{0, kLayers, {"--cache-tokens", std::to_string(kCacheTokens)}}},
                          f.dir / "logs");
    f.channel = raw_channel(f.swarm->server_address(0));
    const rpc::InfoResponse info = server_info(f.channel);
    f.peer = info.peer();
    f.public_key = from_hex(info.public_key());
    f.checkpoint = Checkpoint::open(f.model);
    f.span = std::make_unique<BlockSpan>(ModelConfig::load(f.model), *f.checkpoint, 0, kLayers);
    f.local_cache = std::make_unique<KvCache>(f.span->make_cache(1, kValidMaxLength));
    RouteHop hop;
    hop.peer = f.peer;
    hop.public_key = f.public_key;
    hop.address = f.swarm->server_address(0);
    hop.start = 0;
    hop.end = kLayers;
    SessionParams params;
    params.max_length = kValidMaxLength;
    params.hidden_size = kHidden;
    f.valid = std::make_unique<RemoteSession>(hop, f.channel, params, std::chrono::seconds(20),
                                              f.watchdog);
    f.baseline_cache_left = server_info(f.channel).cache_tokens_left();
    ASSERT_EQ(f.baseline_cache_left, info.cache_tokens_left() - kValidMaxLength);
    expect_valid_session_step(4);  // a prefill
  }

  static void TearDownTestSuite() {
    delete fixture;
    fixture = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(fixture, nullptr);
    ASSERT_NE(fixture->valid, nullptr) << "suite set-up failed";
  }

  // After every case: the server is up, holds only the valid session and its
  // cache, and the valid session still computes correctly.
  void TearDown() override {
    if (fixture == nullptr || fixture->valid == nullptr) return;  // set-up failed
    Fixture& f = *fixture;
    EXPECT_TRUE(f.swarm->server(0).running()) << f.swarm->server(0).log();
    const grpc::Status status = ping(f.channel);
    EXPECT_TRUE(status.ok()) << "ping after the case: " << status.error_message();
    const rpc::InfoResponse info = wait_for_server_state(f.channel, 1, f.baseline_cache_left);
    EXPECT_EQ(info.sessions(), 1) << "a hostile session was not closed";
    EXPECT_EQ(info.cache_tokens_left(), f.baseline_cache_left) << "cache was not freed";
    expect_valid_session_step(1);
  }

  std::shared_ptr<grpc::Channel> channel() const { return fixture->channel; }

  // A fresh session id per call.
  std::string id() { return "hostile-" + std::to_string(++counter_); }

  // Opens a valid batch-1 session, then sends `steps`; expects the call to
  // end with `code` and a message containing `needle`, after `results` good
  // step results.
  void expect_session_rejects(const std::vector<rpc::InferenceRequest>& steps,
                              grpc::StatusCode code, const std::string& needle, int results = 0,
                              rpc::InferenceRequest open = {}) {
    if (!open.has_open()) open = open_request(id(), 0, kLayers, 16);
    std::vector<rpc::InferenceRequest> requests = {open};
    requests.insert(requests.end(), steps.begin(), steps.end());
    const InferenceCall call = run_inference(channel(), requests);
    EXPECT_EQ(call.status.error_code(), code) << call.status.error_message();
    EXPECT_NE(call.status.error_message().find(needle), std::string::npos)
        << "message '" << call.status.error_message() << "' does not name '" << needle << "'";
    EXPECT_EQ(call.results(), results);
  }

  void expect_open_rejected(const rpc::InferenceRequest& open, const std::string& needle,
                            grpc::StatusCode code = grpc::StatusCode::INVALID_ARGUMENT) {
    const InferenceCall call = run_inference(channel(), {open, value_step(0, 0, 1, kHidden)});
    EXPECT_EQ(call.status.error_code(), code) << call.status.error_message();
    EXPECT_NE(call.status.error_message().find(needle), std::string::npos)
        << "message '" << call.status.error_message() << "' does not name '" << needle << "'";
    EXPECT_TRUE(call.responses.empty()) << "the server answered a refused open";
  }

 private:
  int counter_ = 0;
};

std::string f32(const std::vector<float>& values) { return encode_values(values, rpc::WIRE_F32); }

// --- opens -------------------------------------------------------------------

TEST_F(HostileInput, FirstMessageMustBeAnOpen) {
  InferenceCall call = run_inference(channel(), {value_step(0, 0, 1, kHidden)});
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(call.status.error_message().find("must open it"), std::string::npos)
      << call.status.error_message();
  rpc::InferenceRequest route;
  route.mutable_route()->set_upstream_peer("nobody");
  call = run_inference(channel(), {route});
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  call = run_inference(channel(), {rpc::InferenceRequest{}});  // no kind at all
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  call = run_inference(channel(), {});
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(call.status.error_message().find("before the session was opened"), std::string::npos)
      << call.status.error_message();
}

TEST_F(HostileInput, OpenOutsideTheServedSpan) {
  expect_open_rejected(open_request(id(), -1, 1, 16), "not inside the served span");
  expect_open_rejected(open_request(id(), 0, kLayers + 1, 16), "not inside the served span");
  expect_open_rejected(open_request(id(), 1, 1, 16), "not inside the served span");
  expect_open_rejected(open_request(id(), 2, 1, 16), "not inside the served span");
  expect_open_rejected(open_request(id(), std::numeric_limits<int32_t>::min(),
                                    std::numeric_limits<int32_t>::max(), 16),
                       "not inside the served span");
}

TEST_F(HostileInput, OpenWithBadBatchLengthOrDtype) {
  expect_open_rejected(open_request(id(), 0, kLayers, 16, 0), "batch 0");
  expect_open_rejected(open_request(id(), 0, kLayers, 16, -3), "batch -3");
  expect_open_rejected(open_request(id(), 0, kLayers, 16, 65), "batch 65");
  expect_open_rejected(open_request(id(), 0, kLayers, 0), "max length 0");
  expect_open_rejected(open_request(id(), 0, kLayers, -5), "max length -5");
  expect_open_rejected(open_request(id(), 0, kLayers, kMaxPositions + 1), "max length 129");
  expect_open_rejected(open_request(id(), 0, kLayers, std::numeric_limits<int32_t>::max()),
                       "max length");
  expect_open_rejected(open_request(id(), 0, kLayers, 16, 1, static_cast<rpc::WireDType>(7)),
                       "unknown wire dtype 7");
}

TEST_F(HostileInput, OpenWithBadSessionId) {
  expect_open_rejected(open_request("", 0, kLayers, 16), "session id must have 1 to 128 bytes");
  expect_open_rejected(open_request(std::string(129, 'x'), 0, kLayers, 16),
                       "session id must have 1 to 128 bytes");
}

TEST_F(HostileInput, OpenWithTheIdOfAnOpenSessionIsRefusedAndLeavesItAlone) {
  expect_open_rejected(open_request(fixture->valid->session_id(), 0, kLayers, 16),
                       "is already open");
  // The valid session is checked by the teardown: still registered, still right.
}

TEST_F(HostileInput, OpenLargerThanTheCacheIsRefused) {
  // 64 x 128 tokens exceed the whole budget: refused at once.
  expect_open_rejected(open_request(id(), 0, kLayers, kMaxPositions, 64),
                       "cache full: a session needs 8192 tokens, the server holds at most 4096",
                       grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(HostileInput, SecondOpenInsideASession) {
  expect_session_rejects({value_step(0, 0, 2, kHidden), open_request(id(), 0, kLayers, 16)},
                         grpc::StatusCode::INVALID_ARGUMENT, "got another open", 1);
}

// --- shapes, batch, dtype ----------------------------------------------------

TEST_F(HostileInput, WrongNumberOfDimensions) {
  const auto values = test_values(kHidden, 1);
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, kHidden}, f32(values)))},
                         grpc::StatusCode::INVALID_ARGUMENT, "2 dimensions, expected 3");
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 1, 1, kHidden}, f32(values)))},
                         grpc::StatusCode::INVALID_ARGUMENT, "4 dimensions, expected 3");
  expect_session_rejects({step_request(0, 0, tensor_chunk({}, ""))},
                         grpc::StatusCode::INVALID_ARGUMENT, "0 dimensions, expected 3");
}

TEST_F(HostileInput, WrongHiddenSize) {
  const auto values = test_values(2 * 32, 1);
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 2, 32}, f32(values)))},
                         grpc::StatusCode::INVALID_ARGUMENT, "hidden size 32, the model has 64");
}

TEST_F(HostileInput, WrongBatch) {
  const auto values = test_values(2 * kHidden, 1);
  expect_session_rejects({step_request(0, 0, tensor_chunk({2, 1, kHidden}, f32(values)))},
                         grpc::StatusCode::INVALID_ARGUMENT,
                         "batch 2, the session was opened with 1");
  // A batch-2 session sent one row.
  expect_session_rejects({value_step(0, 0, 1, kHidden)}, grpc::StatusCode::INVALID_ARGUMENT,
                         "batch 1, the session was opened with 2", 0,
                         open_request(id(), 0, kLayers, 16, 2));
}

TEST_F(HostileInput, ZeroOrNegativeDimensions) {
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 0, kHidden}, ""))},
                         grpc::StatusCode::INVALID_ARGUMENT, "dimension 0 is out of range");
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, -1, kHidden}, ""))},
                         grpc::StatusCode::INVALID_ARGUMENT, "dimension -1 is out of range");
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({-1, -1, kHidden}, f32(test_values(kHidden, 1))))},
      grpc::StatusCode::INVALID_ARGUMENT, "out of range");
}

TEST_F(HostileInput, DtypeOtherThanTheSessions) {
  // A bf16 session sent f32, an f32 session sent bf16 and an unknown dtype.
  expect_session_rejects({value_step(0, 0, 1, kHidden, rpc::WIRE_F32)},
                         grpc::StatusCode::INVALID_ARGUMENT,
                         "tensor dtype f32 differs from the session's bf16", 0,
                         open_request(id(), 0, kLayers, 16, 1, rpc::WIRE_BF16));
  expect_session_rejects({value_step(0, 0, 1, kHidden, rpc::WIRE_BF16)},
                         grpc::StatusCode::INVALID_ARGUMENT, "tensor dtype bf16 differs");
  expect_session_rejects({step_request(0, 0,
                                       tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 1)),
                                                    static_cast<rpc::WireDType>(5)))},
                         grpc::StatusCode::INVALID_ARGUMENT, "tensor dtype unknown differs");
}

// --- sizes -------------------------------------------------------------------

TEST_F(HostileInput, ShapeLargerThanTheSessionAllows) {
  // Declares 2^31 tokens with a few bytes of data: refused before allocating.
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, int64_t{1} << 31, kHidden}, "abcd"))},
                         grpc::StatusCode::INVALID_ARGUMENT, "tensor larger than the");
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 17, kHidden}, f32(test_values(17 * kHidden, 1))))},
      grpc::StatusCode::INVALID_ARGUMENT, "tensor larger than the");
  expect_session_rejects(
      {step_request(0, 0,
                    tensor_chunk({int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 31}, "x"))},
      grpc::StatusCode::INVALID_ARGUMENT, "tensor larger than the");
}

TEST_F(HostileInput, DataThatDisagreesWithTheShape) {
  const auto values = test_values(2 * kHidden, 1);
  // Too few bytes, too many bytes, and not a whole number of values.
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 2, kHidden}, f32(values).substr(8)))},
                         grpc::StatusCode::INVALID_ARGUMENT, "its shape implies");
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 1, kHidden}, f32(values)))},
                         grpc::StatusCode::INVALID_ARGUMENT,
                         "exceeds the 256 bytes its shape implies");
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 1, kHidden}, f32(values).substr(0, 4 * kHidden - 1)))},
      grpc::StatusCode::INVALID_ARGUMENT, "its shape implies");
}

TEST_F(HostileInput, MessageOverTheGrpcLimitIsRefusedByGrpc) {
  // The client lifts its own send limit; the server's receive limit holds.
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  auto big = dial(fixture->swarm->server_address(0), kAnyPeer, args);
  const std::string data(limits::kMaxMessageBytes + 1024, 'x');
  const InferenceCall call =
      run_inference(big, {open_request(id(), 0, kLayers, 16),
                          step_request(0, 0, tensor_chunk({1, 1, kHidden}, data))});
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << call.status.error_message();
  EXPECT_EQ(call.results(), 0);
}

// --- chunks ------------------------------------------------------------------

TEST_F(HostileInput, ChunkCountLies) {
  const std::string data = f32(test_values(2 * kHidden, 1));
  const std::string first = data.substr(0, 256), second = data.substr(256);
  // No chunks at all.
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 2, kHidden}, data, rpc::WIRE_F32, 0, 0))},
      grpc::StatusCode::INVALID_ARGUMENT, "announces 0 chunks");
  // One chunk announced, half the data sent.
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 2, kHidden}, first))},
                         grpc::StatusCode::INVALID_ARGUMENT, "its shape implies");
  // The count changes between chunks.
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 2, kHidden}, first, rpc::WIRE_F32, 0, 2)),
       step_request(0, 0, tensor_chunk({}, second, rpc::WIRE_F32, 1, 3))},
      grpc::StatusCode::INVALID_ARGUMENT, "chunk count changed from 2 to 3");
  // Chunks out of order, or a later chunk first.
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 2, kHidden}, first, rpc::WIRE_F32, 0, 2)),
       step_request(0, 0, tensor_chunk({}, second, rpc::WIRE_F32, 0, 2))},
      grpc::StatusCode::INVALID_ARGUMENT, "chunk 0 arrived where chunk 1 was expected");
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 2, kHidden}, second, rpc::WIRE_F32, 1, 2))},
      grpc::StatusCode::INVALID_ARGUMENT, "chunk 1 arrived where chunk 0 was expected");
  // A chunk of another step in the middle of a step.
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 2, kHidden}, first, rpc::WIRE_F32, 0, 2)),
       step_request(5, 0, tensor_chunk({}, second, rpc::WIRE_F32, 1, 2))},
      grpc::StatusCode::INVALID_ARGUMENT, "chunk of step 5 inside step 0");
  // Many chunks announced, more data than the shape in the second one.
  expect_session_rejects(
      {step_request(0, 0, tensor_chunk({1, 2, kHidden}, first, rpc::WIRE_F32, 0, 1000000)),
       step_request(0, 0, tensor_chunk({}, data, rpc::WIRE_F32, 1, 1000000))},
      grpc::StatusCode::INVALID_ARGUMENT, "exceeds the 512 bytes its shape implies");
}

TEST_F(HostileInput, HonestChunksStillWork) {
  // The same tensor in two chunks is accepted and answered.
  const std::string data = f32(test_values(2 * kHidden, 1));
  const InferenceCall call = run_inference(
      channel(),
      {open_request(id(), 0, kLayers, 16),
       step_request(0, 0, tensor_chunk({1, 2, kHidden}, data.substr(0, 100), rpc::WIRE_F32, 0, 2)),
       step_request(0, 0, tensor_chunk({}, data.substr(100), rpc::WIRE_F32, 1, 2))});
  EXPECT_TRUE(call.status.ok()) << call.status.error_message();
  EXPECT_EQ(call.results(), 1);
}

// --- positions and steps -----------------------------------------------------

TEST_F(HostileInput, PositionPastTheSessionLength) {
  expect_session_rejects({value_step(0, 3, 1, kHidden)}, grpc::StatusCode::INVALID_ARGUMENT,
                         "starts at position 3, the session holds 0 tokens");
  expect_session_rejects({value_step(0, 0, 2, kHidden), value_step(1, 5, 1, kHidden)},
                         grpc::StatusCode::INVALID_ARGUMENT,
                         "starts at position 5, the session holds 2 tokens", 1);
  expect_session_rejects({value_step(0, -1, 1, kHidden)}, grpc::StatusCode::INVALID_ARGUMENT,
                         "starts at position -1");
  expect_session_rejects({value_step(0, std::numeric_limits<int32_t>::max(), 1, kHidden)},
                         grpc::StatusCode::INVALID_ARGUMENT, "starts at position");
}

TEST_F(HostileInput, PositionPastTheMaxLength) {
  // 16 tokens fill the session; one more passes its max length.
  expect_session_rejects({value_step(0, 0, 16, kHidden), value_step(1, 16, 1, kHidden)},
                         grpc::StatusCode::INVALID_ARGUMENT, "passes the max length 16", 1);
  expect_session_rejects({value_step(0, 0, 10, kHidden), value_step(1, 10, 7, kHidden)},
                         grpc::StatusCode::INVALID_ARGUMENT, "passes the max length 16", 1);
}

TEST_F(HostileInput, RollbackInsideTheSessionIsAllowed) {
  // Positions below the length roll the cache back: valid, and answered.
  const InferenceCall call =
      run_inference(channel(), {open_request(id(), 0, kLayers, 16), value_step(0, 0, 4, kHidden),
                                value_step(1, 2, 1, kHidden), value_step(2, 0, 3, kHidden)});
  EXPECT_TRUE(call.status.ok()) << call.status.error_message();
  ASSERT_EQ(call.results(), 3);
  EXPECT_EQ(call.responses.back().result().length(), 3);
}

// Step ids only go forward. (A client's copy may skip ids ahead: a replay
// runs several past steps as one, under the id of the last.)
TEST_F(HostileInput, StepsOutOfOrder) {
  expect_session_rejects(
      {value_step(0, 0, 1, kHidden), value_step(3, 1, 1, kHidden), value_step(2, 2, 1, kHidden)},
      grpc::StatusCode::INVALID_ARGUMENT, "step 2 arrived, expected step 4", 2);
  expect_session_rejects({value_step(0, 0, 1, kHidden), value_step(0, 1, 1, kHidden)},
                         grpc::StatusCode::INVALID_ARGUMENT, "step 0 arrived, expected step 1", 1);
  expect_session_rejects({value_step(-7, 0, 1, kHidden)}, grpc::StatusCode::INVALID_ARGUMENT,
                         "step -7 arrived, expected step 0");
}

// --- values ------------------------------------------------------------------

TEST_F(HostileInput, NanAndInfValues) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto values = test_values(kHidden, 1);
    values[17] = bad;
    expect_session_rejects({step_request(0, 0, tensor_chunk({1, 1, kHidden}, f32(values)))},
                           grpc::StatusCode::INVALID_ARGUMENT, "NaN or Inf");
  }
  // The same in the half-precision wire formats (raw bit patterns).
  std::string bf16 = encode_values(test_values(kHidden, 1), rpc::WIRE_BF16);
  bf16[10] = '\xc0';
  bf16[11] = '\x7f';  // 0x7fc0: NaN
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 1, kHidden}, bf16, rpc::WIRE_BF16))},
                         grpc::StatusCode::INVALID_ARGUMENT, "NaN or Inf", 0,
                         open_request(id(), 0, kLayers, 16, 1, rpc::WIRE_BF16));
  std::string f16 = encode_values(test_values(kHidden, 1), rpc::WIRE_F16);
  f16[4] = '\x00';
  f16[5] = '\x7c';  // 0x7c00: +Inf
  expect_session_rejects({step_request(0, 0, tensor_chunk({1, 1, kHidden}, f16, rpc::WIRE_F16))},
                         grpc::StatusCode::INVALID_ARGUMENT, "NaN or Inf", 0,
                         open_request(id(), 0, kLayers, 16, 1, rpc::WIRE_F16));
}

// --- routes and pushes -------------------------------------------------------

TEST_F(HostileInput, RouteIntoAnotherSessionOrToNowhere) {
  // A route that names the valid session on this very server as the next
  // hop, then routes to hops that do not exist: the pushes are dropped (the
  // valid session named no upstream) or fail, and the hostile session itself
  // is still answered.
  const uint64_t dropped_before = server_info(channel()).push().dropped();
  bool first = true;
  for (const std::string& address :
       {fixture->swarm->server_address(0), std::string("256.1.1.1:99999"),
        std::string("not an address")}) {
    rpc::InferenceRequest route;
    auto* hop = route.mutable_route()->add_next();
    hop->set_peer(fixture->peer);
    hop->set_address(address);
    hop->set_session_id(fixture->valid->session_id());
    hop->set_start(0);
    hop->set_end(kLayers);
    route.mutable_route()->set_upstream_peer(std::string(5000, 'p'));
    const InferenceCall call =
        run_inference(channel(), {open_request(id(), 0, kLayers, 16), route,
                                  value_step(0, 0, 2, kHidden), value_step(1, 2, 1, kHidden)});
    EXPECT_TRUE(call.status.ok()) << call.status.error_message();
    EXPECT_EQ(call.results(), 2);
    if (first) {
      // Both pushes into the valid session arrive and are dropped.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (server_info(channel()).push().dropped() < dropped_before + 2 &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      EXPECT_EQ(server_info(channel()).push().dropped(), dropped_before + 2);
      first = false;
    }
  }
}

rpc::PushRequest signed_push(const Identity& sender, const std::string& session, int64_t step,
                             int32_t position, const rpc::TensorChunk& hidden) {
  rpc::PushRequest push;
  push.set_session_id(session);
  push.set_step_id(step);
  push.set_position(position);
  *push.mutable_hidden() = hidden;
  sign_push(sender, push);
  return push;
}

rpc::PushResponse send_push(const std::shared_ptr<grpc::Channel>& channel,
                            const rpc::PushRequest& push) {
  auto stub = rpc::Brigade::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  rpc::PushResponse response;
  const grpc::Status status = stub->Push(&context, push, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

TEST_F(HostileInput, PushesThatMustBeDropped) {
  const Identity attacker = Identity::generate();
  const Identity other = Identity::generate();
  const uint64_t dropped_before = server_info(channel()).push().dropped();
  const auto chunk = tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 3)));
  const std::string valid_id = fixture->valid->session_id();
  uint64_t expected_drops = 0;
  auto expect_refused = [&](rpc::PushRequest push, const std::string& needle) {
    const rpc::PushResponse response = send_push(channel(), push);
    EXPECT_FALSE(response.accepted()) << needle;
    EXPECT_NE(response.reason().find(needle), std::string::npos)
        << "reason '" << response.reason() << "' does not name '" << needle << "'";
    ++expected_drops;
  };
  // Into the valid session (its next step), from a peer the client never named.
  expect_refused(signed_push(attacker, valid_id, fixture->next_step, fixture->position, chunk),
                 "not the upstream");
  // A bad signature, a signature by another key, a peer id of another key.
  auto push = signed_push(attacker, valid_id, fixture->next_step, fixture->position, chunk);
  push.mutable_signature()->at(3) ^= 1;
  expect_refused(push, "bad push signature");
  push = signed_push(attacker, valid_id, fixture->next_step, fixture->position, chunk);
  push.set_sender_public_key(other.public_key());
  expect_refused(push, "does not match its key");
  push = signed_push(attacker, valid_id, fixture->next_step, fixture->position, chunk);
  push.set_sender_peer(other.peer_id());
  expect_refused(push, "does not match its key");
  push.clear_signature();
  push.set_sender_peer(attacker.peer_id());
  expect_refused(push, "bad push signature");
  // Tensors that are no tensors, validly signed.
  expect_refused(signed_push(attacker, valid_id, 0, 0,
                             tensor_chunk({1, kHidden}, f32(test_values(kHidden, 1)))),
                 "2 dimensions");
  expect_refused(
      signed_push(attacker, valid_id, 0, 0,
                  tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 1)), rpc::WIRE_F32, 0, 2)),
      "one chunk");
  expect_refused(signed_push(attacker, valid_id, 0, 0, tensor_chunk({1, 1 << 20, kHidden}, "abcd")),
                 "tensor larger than");
  expect_refused(signed_push(attacker, valid_id, 0, 0,
                             tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 1)),
                                          static_cast<rpc::WireDType>(9))),
                 "unknown wire dtype");
  // No session id, or one too long to be a session's.
  expect_refused(signed_push(attacker, "", 0, 0, chunk), "unknown session");
  expect_refused(signed_push(attacker, std::string(200, 's'), 0, 0, chunk), "unknown session");
  const uint64_t dropped_after = server_info(channel()).push().dropped();
  EXPECT_EQ(dropped_after - dropped_before, expected_drops);
}

TEST_F(HostileInput, PushesForUnknownSessionsAreHeldBriefly) {
  // A push may beat its session's open, so a validly signed push for an
  // unknown session is held, in a bounded buffer, never run: a flood of
  // them is refused once the buffer is full.
  const Identity attacker = Identity::generate();
  const auto chunk = tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 3)));
  int held = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    const auto response =
        send_push(channel(), signed_push(attacker, "ghost-" + std::to_string(i), 0, 0, chunk));
    if (response.accepted()) {
      ++held;
      EXPECT_NE(response.reason().find("held"), std::string::npos) << response.reason();
    } else {
      ++refused;
      EXPECT_NE(response.reason().find("unknown session"), std::string::npos) << response.reason();
    }
  }
  EXPECT_LE(held, 32);
  EXPECT_GE(refused, 100 - 32);
  // A session opened under one of those ids never runs the held push: it
  // named no upstream, so step 0 comes from its client.
  const InferenceCall call = run_inference(
      channel(), {open_request("ghost-0", 0, kLayers, 16), value_step(0, 0, 1, kHidden)});
  EXPECT_TRUE(call.status.ok()) << call.status.error_message();
  ASSERT_EQ(call.results(), 1);
  EXPECT_FALSE(call.responses.back().result().from_push());
}

// --- Forward -----------------------------------------------------------------

TEST_F(HostileInput, ForwardWithBadSpansShapesOrValues) {
  const auto one = tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 1)));
  auto expect_forward_rejects = [&](const rpc::ForwardRequest& request, const std::string& needle) {
    const ForwardCall call = run_forward(channel(), {request});
    EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << needle << ": " << call.status.error_message();
    EXPECT_NE(call.status.error_message().find(needle), std::string::npos)
        << "message '" << call.status.error_message() << "' does not name '" << needle << "'";
    EXPECT_TRUE(call.responses.empty());
  };
  expect_forward_rejects(forward_request(-1, 1, one), "not inside the served span");
  expect_forward_rejects(forward_request(0, kLayers + 1, one), "not inside the served span");
  expect_forward_rejects(forward_request(1, 1, one), "not inside the served span");
  expect_forward_rejects(forward_request(1, 0, one), "not inside the served span");
  expect_forward_rejects(
      forward_request(0, kLayers, tensor_chunk({1, kHidden}, f32(test_values(kHidden, 1)))),
      "2 dimensions");
  expect_forward_rejects(
      forward_request(0, kLayers, tensor_chunk({1, 1, 32}, f32(test_values(32, 1)))),
      "hidden size 32");
  expect_forward_rejects(forward_request(0, kLayers, tensor_chunk({1, 1 << 30, kHidden}, "abcd")),
                         "tensor larger than");
  expect_forward_rejects(
      forward_request(0, kLayers,
                      tensor_chunk({65, 1, kHidden}, f32(test_values(65 * kHidden, 1)))),
      "batch 65");
  expect_forward_rejects(
      forward_request(0, kLayers,
                      tensor_chunk({1, kMaxPositions + 1, kHidden},
                                   f32(test_values((kMaxPositions + 1) * kHidden, 1)))),
      "max length 129");
  expect_forward_rejects(forward_request(0, kLayers,
                                         tensor_chunk({1, 1, kHidden}, f32(test_values(kHidden, 1)),
                                                      static_cast<rpc::WireDType>(3))),
                         "unknown wire dtype");
  auto nan = test_values(kHidden, 1);
  nan[0] = std::numeric_limits<float>::quiet_NaN();
  expect_forward_rejects(forward_request(0, kLayers, tensor_chunk({1, 1, kHidden}, f32(nan))),
                         "NaN or Inf");
  // Streams that end before a whole request.
  ForwardCall call = run_forward(channel(), {});
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(call.status.error_message().find("before a complete request"), std::string::npos)
      << call.status.error_message();
  call = run_forward(channel(),
                     {forward_request(0, kLayers,
                                      tensor_chunk({1, 2, kHidden}, f32(test_values(kHidden, 1)),
                                                   rpc::WIRE_F32, 0, 2))});
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(call.status.error_message().find("inside a tensor"), std::string::npos)
      << call.status.error_message();
}

TEST_F(HostileInput, ForwardStillMatchesTheLocalEngine) {
  const auto values = test_values(3 * kHidden, 9);
  const ForwardCall call = run_forward(
      channel(), {forward_request(1, kLayers, tensor_chunk({1, 3, kHidden}, f32(values)))});
  ASSERT_TRUE(call.status.ok()) << call.status.error_message();
  ASSERT_EQ(call.responses.size(), 1u);
  const auto got = decode_values(call.responses[0].hidden().data(), rpc::WIRE_F32);
  std::vector<float> expected = values;
  KvCache sub(kLayers - 1, 1, fixture->span->config().num_key_value_heads,
              fixture->span->config().head_dim, 3);
  fixture->span->forward_range(1, kLayers, expected, 1, 3, 0, sub);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-4) << i;
}

// --- bytes that are not protobuf ---------------------------------------------

// Sends raw `frames` to `method` (a generic call: no serialization of ours)
// and returns the final status.
grpc::Status raw_call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::vector<std::string>& frames) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareCall(&context, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  auto wait = [&](intptr_t expected) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (wait(1)) {
    for (const auto& frame : frames) {
      grpc::Slice slice(frame);
      grpc::ByteBuffer buffer(&slice, 1);
      call->Write(buffer, reinterpret_cast<void*>(2));
      if (!wait(2)) break;
    }
    call->WritesDone(reinterpret_cast<void*>(3));
    wait(3);
    grpc::ByteBuffer answer;
    while (true) {
      call->Read(&answer, reinterpret_cast<void*>(4));
      if (!wait(4)) break;
    }
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  wait(5);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(HostileInput, BytesThatAreNotProtobuf) {
  const std::vector<std::string> junk = {
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // varint too long
      std::string("\x0a\xff\xff\xff\x0f", 5) + "short",                 // length past the end
      std::string("\x0b\x14", 2),                                       // unmatched group
      std::string(64, '\x00'),                                          // field number 0
  };
  for (const std::string method :
       {"/brigade.rpc.Brigade/Inference", "/brigade.rpc.Brigade/Forward",
        "/brigade.rpc.Brigade/Push", "/brigade.rpc.Brigade/Info", "/brigade.rpc.Brigade/Ping"}) {
    for (const auto& bytes : junk) {
      const grpc::Status status = raw_call(channel(), method, {bytes});
      EXPECT_FALSE(status.ok()) << method << " took junk";
    }
    // Junk after a valid open ends the reads like a half-close: the call
    // ends without an answer and the session is closed (the teardown checks
    // that it is gone). gRPC does not tell the handler that a message failed
    // to parse, so this one may end OK.
    if (method == "/brigade.rpc.Brigade/Inference") {
      std::string open;
      open_request(id(), 0, kLayers, 16).SerializeToString(&open);
      raw_call(channel(), method, {open, junk[0]});
    }
  }
  // A method the server does not have.
  EXPECT_EQ(raw_call(channel(), "/brigade.rpc.Brigade/Nope", {"x"}).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Another message type where an InferenceRequest belongs: an InfoResponse
  // whose fields collide with open's numbers but not its types.
  rpc::InfoResponse info;
  info.set_model("m");
  info.set_start(1);
  info.set_cache_tokens_left(-1);
  std::string bytes;
  info.SerializeToString(&bytes);
  EXPECT_FALSE(raw_call(channel(), "/brigade.rpc.Brigade/Inference", {bytes}).ok());
}

}  // namespace
}  // namespace brigade::test
