// Server-to-server push end to end (issue 4, item 7; DESIGN.md points 4, 5
// and "Security properties"):
// - push and relay give the tokens of `brigade run`, and pushes are counted;
// - a server pushing false data is caught by the next server and replaced by
//   the client, without changing a token;
// - at the protocol level: only the upstream the client named may push, only
//   with a valid signature, into a live session; a pushed step is confirmed
//   or corrected by the client's copy; early pushes wait (bounded, expiring)
//   for their session; a flood of pushes for unknown sessions is dropped and
//   harms nobody.

#include "net/push.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "client/remote_session.h"
#include "common/swarm_fixture.h"
#include "net/identity.h"
#include "net/step_proof.h"
#include "net/tensor_codec.h"
#include "server/early_pushes.h"

namespace brigade::swarm_fixture {
namespace {

const Prompt kPrompt = id_prompt("5,17,42,99");
constexpr int kNewTokens = 10;
constexpr int kHidden = 64;

// ---------------------------------------------------------------------------
// Generation through the swarm

TEST(Push, PushAndRelayGiveTheTokensOfRunAndPushesAreCounted) {
  test::TempDir dir("brigade-push");
  const auto model = test::make_small_model(dir, model_options());
  const Generation expected = reference_run(model, kPrompt, kNewTokens);
  const auto swarm = start_swarm(model, even_spans(model_options().layers, 3), dir / "logs");

  // Relay: the client forwards every output itself; no server pushes.
  const Generation relay = swarm_generate(model, swarm->dht_address(), kPrompt, kNewTokens,
                                          Output::kJson, {"--no-push"});
  EXPECT_EQ(relay.ids, expected.ids);
  EXPECT_TRUE(relay.recoveries.empty()) << relay.recoveries.dump();
  EXPECT_EQ(nlohmann::json::parse(relay.raw.out).at("push"), false);
  ASSERT_EQ(relay.route.size(), 3u) << relay.route.dump();
  for (size_t i = 0; i < swarm->size(); ++i) {
    const auto counters = server_info(swarm->server_address(i)).push();
    EXPECT_EQ(counters.sent(), 0u) << "server " << i;
    EXPECT_EQ(counters.accepted(), 0u) << "server " << i;
  }

  // Push: the same tokens; the downstream servers take pushes. Whether a
  // push beats the client's own copy is a race, so a few runs may be needed
  // before every downstream server has taken one.
  bool all_accepted = false;
  for (int run = 0; run < 4 && !all_accepted; ++run) {
    const Generation push =
        swarm_generate(model, swarm->dht_address(), kPrompt, kNewTokens, Output::kJson);
    EXPECT_EQ(push.ids, expected.ids) << "run " << run;
    EXPECT_TRUE(push.recoveries.empty()) << push.recoveries.dump();
    EXPECT_EQ(nlohmann::json::parse(push.raw.out).at("push"), true);
    all_accepted = true;
    for (size_t i = 1; i < swarm->size(); ++i) {
      all_accepted &= server_info(swarm->server_address(i)).push().accepted() > 0;
    }
  }
  EXPECT_TRUE(all_accepted);

  // `brigade status --json` shows the same counters.
  for (size_t i = 0; i < swarm->size(); ++i) {
    SCOPED_TRACE("server " + std::to_string(i));
    const auto s = status_entry(swarm->dht_address(), swarm->server_address(i));
    ASSERT_TRUE(s.contains("push")) << s.dump();
    const auto& p = s["push"];
    for (const char* key : {"accepted", "late", "dropped", "mismatched", "sent", "send_failed"}) {
      EXPECT_TRUE(p.contains(key)) << key << " missing in " << p.dump();
    }
    EXPECT_EQ(p.at("mismatched").get<uint64_t>(), 0u);
    EXPECT_EQ(p.at("dropped").get<uint64_t>(), 0u);
    if (i > 0) {
      EXPECT_GT(p.at("accepted").get<uint64_t>(), 0u) << p.dump();
    }
    // The last server has nobody to push to; the others push every step.
    if (i + 1 < swarm->size()) {
      EXPECT_GT(p.at("sent").get<uint64_t>(), 0u) << p.dump();
    } else {
      EXPECT_EQ(p.at("sent").get<uint64_t>(), 0u) << p.dump();
    }
  }
}

// The first span's fast server pushes slightly wrong (validly signed) data;
// an honest server for the same span sits behind a slow link, so the client
// routes through the corrupting one first. The next server notices that the
// push differs from the client's copy, corrects itself, and the client bans
// and replaces the pusher. Every run's tokens are right.
TEST(Push, ServerPushingFalseDataIsCaughtAndReplaced) {
  test::TempDir dir("brigade-push-corrupt");
  const auto model = test::make_small_model(dir, model_options());
  const Generation expected = reference_run(model, kPrompt, kNewTokens);
  const auto swarm = start_swarm(
      model, {{0, 2, {"--fault", "corrupt-pushes"}}, {2, 4, {}}, {4, 6, {}}}, dir / "logs");
  const size_t honest = swarm->add_server({0, 2, {}});
  std::vector<std::unique_ptr<SlowLink>> slow;
  slow.push_back(std::make_unique<SlowLink>(swarm->server_address(honest)));
  const std::string liar = peer_of(swarm->server_address(0));
  const std::string honest_peer = peer_of(swarm->server_address(honest));

  // Relay mode never pushes: the liar does no harm and stays.
  std::vector<std::string> relay_args = connect_via_args(slow);
  relay_args.push_back("--no-push");
  const Generation relay =
      swarm_generate(model, swarm->dht_address(), kPrompt, kNewTokens, Output::kJsonl, relay_args);
  EXPECT_EQ(relay.ids, expected.ids);
  EXPECT_TRUE(relay.recoveries.empty()) << relay.recoveries.dump();
  EXPECT_TRUE(route_has_peer(relay.route, liar)) << relay.route.dump();

  // Push mode: a false push is only noticed when it reaches the next server
  // before the client's copy does (a race), so allow a few runs.
  bool caught = false;
  for (int run = 0; run < 4 && !caught; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const Generation g = swarm_generate(model, swarm->dht_address(), kPrompt, kNewTokens,
                                        Output::kJsonl, connect_via_args(slow));
    EXPECT_EQ(g.ids, expected.ids);
    ASSERT_FALSE(g.events.empty());
    ASSERT_EQ(g.events.front().value("event", ""), "route");
    EXPECT_TRUE(route_has_peer(g.events.front().at("route"), liar)) << g.events.front().dump();
    for (const auto& r : g.recoveries) {
      EXPECT_EQ(r.at("failed_peer").get<std::string>(), liar) << r.dump();
      EXPECT_NE(r.at("reason").get<std::string>().find("pushed data"), std::string::npos)
          << r.dump();
      ASSERT_EQ(r.at("replacement").size(), 1u) << r.dump();
      EXPECT_EQ(r.at("replacement")[0].at("peer").get<std::string>(), honest_peer);
      caught = true;
    }
    if (!g.recoveries.empty()) {
      EXPECT_EQ(g.recoveries.size(), 1u) << g.recoveries.dump();
      EXPECT_FALSE(route_has_peer(g.route, liar)) << g.route.dump();
      EXPECT_TRUE(route_has_peer(g.route, honest_peer)) << g.route.dump();
    }
  }
  EXPECT_TRUE(caught) << "the false pushes were never caught";
  // The server after the liar saw a push that did not match.
  const auto counters = server_info(swarm->server_address(1)).push();
  EXPECT_GE(counters.mismatched(), 1u);
  const auto s = status_entry(swarm->dht_address(), swarm->server_address(1));
  EXPECT_GE(s.at("push").at("mismatched").get<uint64_t>(), 1u) << s.dump();
  // The server after that one may have taken its (honest but wrong) output
  // as a push and corrected itself too, or the client's copy may have beaten
  // that push there (a race on a loaded machine, seen under ctest -j2); either
  // way the client did not blame it: every recovery above named the liar.
}

// ---------------------------------------------------------------------------
// The push protocol, spoken directly to one server

WireTensor random_hidden(int tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(tokens) * kHidden);
  for (float& v : values) v = normal(rng);
  return make_wire_tensor(values, {1, tokens, kHidden}, rpc::WIRE_F32);
}

rpc::TensorChunk one_chunk(const WireTensor& t) {
  rpc::TensorChunk chunk;
  for (int64_t d : t.shape) chunk.add_shape(d);
  chunk.set_dtype(t.dtype);
  chunk.set_data(t.bytes);
  chunk.set_chunk_index(0);
  chunk.set_num_chunks(1);
  return chunk;
}

// A push of `t` as step `step` of session `session`, claimed to come from
// `sender` and signed by `signer` (the same identity for an honest push).
rpc::PushRequest make_push(const Identity& sender, const Identity& signer,
                           const std::string& session, int64_t step, int32_t position,
                           const WireTensor& t) {
  rpc::PushRequest r = brigade::make_push(signer, session, step, position, t);
  r.set_sender_peer(sender.peer_id());
  r.set_sender_public_key(sender.public_key());
  return r;
}

std::shared_ptr<grpc::Channel> open_channel(const std::string& address) {
  return dial(address, kAnyPeer, channel_arguments());
}

rpc::PushResponse send_push(rpc::Brigade::Stub& stub, const rpc::PushRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  rpc::PushResponse response;
  const grpc::Status status = stub.Push(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

// One inference session opened by hand, as a client would.
class RawSession {
 public:
  RawSession(std::shared_ptr<grpc::Channel> channel, std::string id, int start, int end,
             int max_length)
      : id_(std::move(id)), stub_(rpc::Brigade::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream_ = stub_->Inference(&context_);
    rpc::InferenceRequest request;
    auto* open = request.mutable_open();
    open->set_session_id(id_);
    open->set_start(start);
    open->set_end(end);
    open->set_max_length(max_length);
    open->set_batch(1);
    open->set_dtype(rpc::WIRE_F32);
    rpc::InferenceResponse response;
    if (!stream_->Write(request) || !stream_->Read(&response) || !response.has_opened()) {
      throw std::runtime_error("session " + id_ +
                               " was not opened: " + stream_->Finish().error_message());
    }
    peer_ = response.opened().peer();
  }
  ~RawSession() {
    context_.TryCancel();
    stream_->Finish();
  }

  const std::string& id() const { return id_; }
  const std::string& peer() const { return peer_; }

  void route(const std::string& upstream_peer) {
    rpc::InferenceRequest request;
    request.mutable_route()->set_upstream_peer(upstream_peer);
    ASSERT_TRUE(stream_->Write(request));
  }
  void step(int64_t step_id, int32_t position, const WireTensor& t) {
    rpc::InferenceRequest request;
    request.mutable_step()->set_step_id(step_id);
    request.mutable_step()->set_position(position);
    *request.mutable_step()->mutable_hidden() = one_chunk(t);
    ASSERT_TRUE(stream_->Write(request));
  }
  // The next result the server sends (each fits in one message here).
  rpc::StepResult read() {
    rpc::InferenceResponse response;
    if (!stream_->Read(&response) || !response.has_result()) {
      ADD_FAILURE() << "session " << id_ << ": no result";
      return {};
    }
    EXPECT_EQ(response.result().hidden().num_chunks(), 1u);
    return response.result();
  }

 private:
  std::string id_;
  std::string peer_;
  std::unique_ptr<rpc::Brigade::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<rpc::InferenceRequest, rpc::InferenceResponse>> stream_;
};

// Checks the server's signature over a result of session `session`.
void expect_signed(const rpc::StepResult& r, const std::string& session,
                   const std::string& public_key) {
  EXPECT_EQ(digest(r.hidden().data()), r.output_digest());
  const std::vector<int64_t> shape(r.hidden().shape().begin(), r.hidden().shape().end());
  EXPECT_TRUE(verify_signature(
      public_key, step_proof_message(session, r, shape, r.hidden().dtype()), r.signature()))
      << "step " << r.step_id();
}

struct CounterDelta {
  int64_t accepted, late, dropped, mismatched;
};

CounterDelta delta(const rpc::PushCounters& before, const rpc::PushCounters& after) {
  return {static_cast<int64_t>(after.accepted() - before.accepted()),
          static_cast<int64_t>(after.late() - before.late()),
          static_cast<int64_t>(after.dropped() - before.dropped()),
          static_cast<int64_t>(after.mismatched() - before.mismatched())};
}

class PushProtocol : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("brigade-push-protocol");
    model_ = test::make_small_model(*dir_, model_options());
    swarm_ = start_swarm(model_, {{0, 3, {}}, {3, 6, {}}}, *dir_ / "logs").release();
  }
  static void TearDownTestSuite() {
    delete swarm_;
    swarm_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  // The server under test: blocks [3, 6).
  static std::string address() { return swarm_->server_address(1); }

  static test::TempDir* dir_;
  static std::filesystem::path model_;
  static LocalSwarm* swarm_;
};

test::TempDir* PushProtocol::dir_ = nullptr;
std::filesystem::path PushProtocol::model_;
LocalSwarm* PushProtocol::swarm_ = nullptr;

// Only the named upstream, with a valid signature, may push; a pushed step
// is answered at once (from_push) and confirmed by an equal client copy; a
// client copy that differs rolls the session back, is answered with
// corrected = true naming the pusher, and the pusher is refused from then on.
TEST_F(PushProtocol, OnlyTheNamedUpstreamMayPushAndFalsePushesAreCorrected) {
  const Identity upstream = Identity::generate();
  const Identity stranger = Identity::generate();
  const rpc::InfoResponse info = server_info(address());
  const std::string server_key = from_hex(info.public_key());
  auto channel = open_channel(address());
  auto stub = rpc::Brigade::NewStub(channel);
  const rpc::PushCounters before = info.push();

  RawSession s(channel, random_session_id(), 3, 6, 16);
  EXPECT_EQ(s.peer(), info.peer());
  s.route(upstream.peer_id());
  // Step 0 from the client: also makes sure the route update was processed.
  const WireTensor h0 = random_hidden(3, 1);
  s.step(0, 0, h0);
  const rpc::StepResult r0 = s.read();
  EXPECT_EQ(r0.step_id(), 0);
  EXPECT_FALSE(r0.from_push());
  EXPECT_EQ(r0.length(), 3);
  EXPECT_EQ(r0.input_digest(), digest(h0.bytes));
  expect_signed(r0, s.id(), server_key);

  const WireTensor a = random_hidden(1, 2);
  // A peer outside the route cannot inject, even with a valid signature.
  auto response = send_push(*stub, make_push(stranger, stranger, s.id(), 1, 3, a));
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("upstream"), std::string::npos) << response.reason();
  // Nor in the upstream's name: a signature by another key ...
  response = send_push(*stub, make_push(upstream, stranger, s.id(), 1, 3, a));
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("signature"), std::string::npos) << response.reason();
  // ... or the upstream's peer id with another key.
  rpc::PushRequest claimed = make_push(stranger, stranger, s.id(), 1, 3, a);
  claimed.set_sender_peer(upstream.peer_id());
  response = send_push(*stub, claimed);
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("key"), std::string::npos) << response.reason();
  // A valid push whose data does not match its signature.
  rpc::PushRequest tampered = make_push(upstream, upstream, s.id(), 1, 3, a);
  tampered.mutable_hidden()->mutable_data()->at(0) ^= 0x01;
  response = send_push(*stub, tampered);
  EXPECT_FALSE(response.accepted());
  // A step the session already ran comes too late.
  response = send_push(*stub, make_push(upstream, upstream, s.id(), 0, 0, h0));
  EXPECT_FALSE(response.accepted());

  // The upstream's push of step 1 is taken and answered at once.
  response = send_push(*stub, make_push(upstream, upstream, s.id(), 1, 3, a));
  EXPECT_TRUE(response.accepted()) << response.reason();
  const rpc::StepResult r1 = s.read();
  EXPECT_EQ(r1.step_id(), 1);
  EXPECT_TRUE(r1.from_push());
  EXPECT_FALSE(r1.corrected());
  EXPECT_EQ(r1.length(), 4);
  EXPECT_EQ(r1.input_digest(), digest(a.bytes));
  expect_signed(r1, s.id(), server_key);
  // The client's equal copy confirms it silently (no second answer: the next
  // result read is step 2's).
  s.step(1, 3, a);

  // Step 2: the upstream pushes b, the client's copy says c.
  const WireTensor b = random_hidden(1, 3);
  const WireTensor c = random_hidden(1, 4);
  response = send_push(*stub, make_push(upstream, upstream, s.id(), 2, 4, b));
  EXPECT_TRUE(response.accepted()) << response.reason();
  const rpc::StepResult r2_pushed = s.read();
  EXPECT_EQ(r2_pushed.step_id(), 2);
  EXPECT_TRUE(r2_pushed.from_push());
  EXPECT_EQ(r2_pushed.input_digest(), digest(b.bytes));
  s.step(2, 4, c);
  const rpc::StepResult r2 = s.read();
  EXPECT_EQ(r2.step_id(), 2);
  EXPECT_TRUE(r2.corrected());
  EXPECT_FALSE(r2.from_push());
  EXPECT_EQ(r2.bad_push_peer(), upstream.peer_id());
  EXPECT_EQ(r2.input_digest(), digest(c.bytes));
  EXPECT_EQ(r2.length(), 5);
  expect_signed(r2, s.id(), server_key);

  // The pusher of false data is refused for the rest of the session.
  response = send_push(*stub, make_push(upstream, upstream, s.id(), 3, 5, random_hidden(1, 5)));
  EXPECT_FALSE(response.accepted());
  EXPECT_NE(response.reason().find("false data"), std::string::npos) << response.reason();

  // The corrected answer is what the client's copies alone give: the cache
  // was rolled back to step 2 and b left no trace.
  RawSession reference(channel, random_session_id(), 3, 6, 16);
  reference.step(0, 0, h0);
  EXPECT_EQ(reference.read().output_digest(), r0.output_digest());
  reference.step(1, 3, a);
  EXPECT_EQ(reference.read().output_digest(), r1.output_digest())
      << "the pushed step 1 computed something else than the client's copy would";
  reference.step(2, 4, c);
  const rpc::StepResult ref2 = reference.read();
  EXPECT_EQ(ref2.output_digest(), r2.output_digest());
  EXPECT_EQ(ref2.hidden().data(), r2.hidden().data());

  const CounterDelta d = delta(before, server_info(address()).push());
  EXPECT_EQ(d.accepted, 2);
  EXPECT_EQ(d.late, 1);
  EXPECT_EQ(d.dropped, 5);  // stranger, bad signature, wrong key, tampered, distrusted
  EXPECT_EQ(d.mismatched, 1);
}

// A push that arrives before its session is opened waits for it; once the
// client opens the session and names the upstream, the push is judged: the
// named upstream's is run, anyone else's dropped.
TEST_F(PushProtocol, EarlyPushesWaitForTheirSession) {
  const Identity upstream = Identity::generate();
  const Identity stranger = Identity::generate();
  auto channel = open_channel(address());
  auto stub = rpc::Brigade::NewStub(channel);
  const rpc::PushCounters before = server_info(address()).push();

  const std::string id1 = random_session_id(), id2 = random_session_id();
  const WireTensor e = random_hidden(2, 10);
  auto response = send_push(*stub, make_push(upstream, upstream, id1, 0, 0, e));
  EXPECT_TRUE(response.accepted()) << response.reason();
  EXPECT_NE(response.reason().find("held"), std::string::npos) << response.reason();
  response = send_push(*stub, make_push(stranger, stranger, id2, 0, 0, e));
  EXPECT_TRUE(response.accepted()) << response.reason();

  RawSession s1(channel, id1, 3, 6, 8);
  s1.route(upstream.peer_id());
  const rpc::StepResult r = s1.read();
  EXPECT_EQ(r.step_id(), 0);
  EXPECT_TRUE(r.from_push());
  EXPECT_EQ(r.input_digest(), digest(e.bytes));
  s1.step(0, 0, e);  // confirms

  RawSession s2(channel, id2, 3, 6, 8);
  s2.route(upstream.peer_id());
  const WireTensor own = random_hidden(2, 11);
  s2.step(0, 0, own);
  const rpc::StepResult r2 = s2.read();
  EXPECT_FALSE(r2.from_push()) << "the stranger's early push was run";
  EXPECT_EQ(r2.input_digest(), digest(own.bytes));

  const CounterDelta d = delta(before, server_info(address()).push());
  EXPECT_EQ(d.accepted, 1);
  EXPECT_EQ(d.dropped, 1);
  EXPECT_EQ(d.mismatched, 0);
}

// Pushes for sessions that do not exist: a bounded number wait, the rest
// are dropped and counted, the server keeps serving, and what waited expires
// without ever being run.
TEST_F(PushProtocol, PushesForUnknownSessionsAreBoundedDroppedAndExpire) {
  const Identity pusher = Identity::generate();
  auto channel = open_channel(address());
  auto stub = rpc::Brigade::NewStub(channel);
  const rpc::PushCounters before = server_info(address()).push();

  // One early push for a session that is opened only after the expiry.
  const std::string late_id = random_session_id();
  const WireTensor stale = random_hidden(2, 20);
  EXPECT_TRUE(send_push(*stub, make_push(pusher, pusher, late_id, 0, 0, stale)).accepted());

  constexpr int kFlood = 200;
  int held = 0;
  const WireTensor x = random_hidden(1, 21);
  for (int i = 0; i < kFlood; ++i) {
    if (send_push(*stub, make_push(pusher, pusher, random_session_id(), 0, 0, x)).accepted()) {
      ++held;
    }
  }
  EXPECT_LE(held, static_cast<int>(limits::kMaxEarlyPushes) - 1);
  const CounterDelta d = delta(before, server_info(address()).push());
  EXPECT_EQ(d.dropped, kFlood - held);
  EXPECT_GE(d.dropped, kFlood - static_cast<int>(limits::kMaxEarlyPushes));
  EXPECT_EQ(d.accepted, 0);

  // Still serving.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    rpc::PingRequest ping;
    ping.set_client_time_us(42);
    rpc::PingResponse pong;
    ASSERT_TRUE(stub->Ping(&context, ping, &pong).ok());
    EXPECT_EQ(pong.client_time_us(), 42);
  }

  // After the expiry, the early push of late_id is gone: opening that
  // session and naming the pusher runs only the client's copy.
  std::this_thread::sleep_for(limits::kEarlyPushExpiry + std::chrono::milliseconds(700));
  RawSession s(channel, late_id, 3, 6, 8);
  s.route(pusher.peer_id());
  const WireTensor own = random_hidden(2, 22);
  s.step(0, 0, own);
  const rpc::StepResult r = s.read();
  EXPECT_EQ(r.step_id(), 0);
  EXPECT_FALSE(r.from_push()) << "an expired early push was run";
  EXPECT_EQ(r.input_digest(), digest(own.bytes));
  // The buffer has room again.
  EXPECT_TRUE(send_push(*stub, make_push(pusher, pusher, random_session_id(), 0, 0, x)).accepted());

  // And the swarm still generates the right tokens, in push mode.
  const Generation expected = reference_run(model_, kPrompt, kNewTokens);
  const Generation g =
      swarm_generate(model_, swarm_->dht_address(), kPrompt, kNewTokens, Output::kJson);
  EXPECT_EQ(g.ids, expected.ids);
  EXPECT_TRUE(g.recoveries.empty()) << g.recoveries.dump();
}

}  // namespace
}  // namespace brigade::swarm_fixture
