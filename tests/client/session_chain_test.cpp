// The session chain's recovery, replay and blame, in-process: fake servers
// (tests/client/fake_swarm.h) that fail where each test says, a swarm map
// built from their records, a ban list on a clock the test moves. Every run
// must give, step by step, the outputs of an uninterrupted run of the same
// blocks; the process tests (tests/swarm/recovery_test.cpp, push_test.cpp)
// check the same behaviour against real servers.

#include "client/session_chain.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "client/fake_swarm.h"

namespace brigade {
namespace {

using fake::FakeServer;
using std::chrono::milliseconds;

constexpr int kBlocks = 6;
constexpr int kPromptTokens = 4;
constexpr int kSteps = 6;  // the prefill, then one token per step
constexpr milliseconds kBanBase{2000};

// The input of step `s`: the prompt, then one token per step.
WireTensor input_of(int s) {
  const int tokens = s == 0 ? kPromptTokens : 1;
  std::vector<float> values;
  for (int t = 0; t < tokens; ++t) {
    for (int h = 0; h < fake::kHidden; ++h) values.push_back(static_cast<float>(s + t + h + 1));
  }
  return make_wire_tensor(values, {1, tokens, fake::kHidden}, rpc::WIRE_F32);
}

int position_of(int s) { return s == 0 ? 0 : kPromptTokens + s - 1; }

// What every step gives when all blocks run in one uninterrupted session.
std::vector<std::vector<float>> uninterrupted_outputs() {
  fake::Blocks blocks(0, kBlocks);
  std::vector<std::vector<float>> out;
  for (int s = 0; s < kSteps; ++s) {
    std::vector<float> values = input_of(s).values();
    blocks.run(values);
    out.push_back(values);
  }
  return out;
}

std::vector<std::string> peers_of(const std::vector<RouteHop>& route) {
  std::vector<std::string> out;
  for (const auto& hop : route) out.push_back(hop.peer);
  return out;
}

class SessionChainTest : public ::testing::Test {
 protected:
  SessionChain& open_chain(bool push = false) {
    RouteNeeds needs;
    needs.num_blocks = kBlocks;
    needs.cache_tokens_needed = kPromptTokens + kSteps;
    needs.push = push;
    map_.emplace(
        swarm_.read(), needs, [this] { return swarm_.read(); },
        [this](const ServerRecord& server) { return swarm_.ping_ms(server.address); });
    ChainOptions options;
    options.push = push;
    options.replan_wait = milliseconds(0);
    chain_.emplace(*map_, bans_, swarm_.factory(), options);
    return *chain_;
  }

  // Runs every step, `before_step(s)` first, and expects the uninterrupted
  // run's outputs.
  void expect_uninterrupted_run(const std::function<void(int)>& before_step = {}) {
    const auto expected = uninterrupted_outputs();
    for (int s = 0; s < kSteps; ++s) {
      if (before_step) before_step(s);
      EXPECT_EQ(expected[s], chain_->step(input_of(s), position_of(s)).output.values())
          << "step " << s;
    }
  }

  // Blocks [2, 4) on `bad`, the cheapest, which fails at step 1 as `fail`
  // makes it fail; on an honest server that fails at step 3; and on a
  // spare. An hour after its failure `bad` is still not asked again: the
  // spare takes over from the honest server.
  void expect_never_asked_again(const std::string& bad_name,
                                const std::function<void(FakeServer&)>& fail) {
    swarm_.add("a", 0, 2, 1);
    FakeServer& bad = swarm_.add(bad_name, 2, 4, 1);
    bad.fail_step = 1;
    fail(bad);
    swarm_.add("honest", 2, 4, 5).fail_step = 3;
    swarm_.add("spare", 2, 4, 20);
    swarm_.add("c", 4, 6, 1);
    SessionChain& chain = open_chain();
    expect_uninterrupted_run([&](int s) {
      if (s == 3) now_ += std::chrono::hours(1);
    });
    ASSERT_EQ(2u, chain.recoveries().size());
    EXPECT_EQ(bad_name, chain.recoveries()[0].failed_peer);
    EXPECT_EQ("honest", chain.recoveries()[1].failed_peer);
    EXPECT_EQ((std::vector<std::string>{"spare"}), peers_of(chain.recoveries()[1].replacement));
    EXPECT_EQ(1, bad.opens);
  }

  fake::FakeSwarm swarm_{kBlocks};
  BanList::Clock::time_point now_{};  // the ban list's clock
  BanList bans_{kBanBase, [this] { return now_; }};
  std::optional<SwarmMap> map_;
  std::optional<SessionChain> chain_;
};

// Run in push mode (GetParam()) and in relay mode.
class SessionChainRecovery : public SessionChainTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SessionChainRecovery, HopFailingMidGenerationIsReplacedAndHistoryReplayed) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("b", 2, 4, 1).fail_step = 3;
  swarm_.add("b2", 2, 4, 10);
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain(GetParam());
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c"}), peers_of(chain.route()));
  expect_uninterrupted_run();

  ASSERT_EQ(1u, chain.recoveries().size());
  const RecoveryEvent& event = chain.recoveries()[0];
  EXPECT_EQ("b", event.failed_peer);
  EXPECT_EQ((std::vector<std::string>{"b2"}), peers_of(event.replacement));
  EXPECT_EQ(kPromptTokens + 2, event.replayed_tokens);  // steps 0, 1 and 2
  EXPECT_EQ(1, event.replay_steps);                     // as one step
  EXPECT_EQ((std::vector<std::string>{"a", "b2", "c"}), peers_of(chain.route()));
  EXPECT_EQ(1, swarm_.server("a").opens);
  EXPECT_EQ(1, swarm_.server("c").opens);
}

TEST_P(SessionChainRecovery, FailedSpanIsTakenOverBySeveralServers) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("b", 2, 4, 1).fail_step = 2;
  swarm_.add("d", 2, 3, 10);
  swarm_.add("e", 3, 4, 10);
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain(GetParam());
  expect_uninterrupted_run();

  ASSERT_EQ(1u, chain.recoveries().size());
  EXPECT_EQ((std::vector<std::string>{"d", "e"}), peers_of(chain.recoveries()[0].replacement));
  EXPECT_EQ((std::vector<std::string>{"a", "d", "e", "c"}), peers_of(chain.route()));
}

TEST_P(SessionChainRecovery, ReplacementFailingDuringReplayIsReplacedToo) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("b", 2, 4, 1).fail_step = 3;
  swarm_.add("b2", 2, 4, 10).fail_step = 2;  // fails the replay: steps 0-2 as step 2
  swarm_.add("b3", 2, 4, 20);
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain(GetParam());
  expect_uninterrupted_run();

  ASSERT_EQ(1u, chain.recoveries().size());
  EXPECT_EQ((std::vector<std::string>{"b3"}), peers_of(chain.recoveries()[0].replacement));
  EXPECT_EQ(1, swarm_.server("b2").opens);
  EXPECT_TRUE(bans_.banned("b2"));
}

TEST_P(SessionChainRecovery, ServerJoiningAfterTheFailureIsUsed) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("b", 2, 4, 1).fail_step = 2;
  swarm_.add("b2", 2, 4, 10).joins_at_read = 4;  // the recovery's third look
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain(GetParam());
  expect_uninterrupted_run();

  ASSERT_EQ(1u, chain.recoveries().size());
  EXPECT_EQ((std::vector<std::string>{"b2"}), peers_of(chain.recoveries()[0].replacement));
  EXPECT_EQ(4, swarm_.reads());
}

INSTANTIATE_TEST_SUITE_P(Modes, SessionChainRecovery, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Push" : "Relay";
                         });

TEST_F(SessionChainTest, NoReplacementEndsInAnError) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("b", 2, 4, 1).fail_step = 2;
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain();
  chain.step(input_of(0), position_of(0));
  chain.step(input_of(1), position_of(1));
  try {
    chain.step(input_of(2), position_of(2));
    FAIL() << "the step succeeded without blocks [2, 4)";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot replace server b for blocks [2, 4) after 16"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(SessionChainTest, AServerThatMissedItsFirstPingIsPingedAgainBeforeGivingUp) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("b", 2, 4, 1).missed_pings = 1;  // the only server of [2, 4)
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain();
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c"}), peers_of(chain.route()));
  EXPECT_EQ(2, swarm_.server("b").pings);
  EXPECT_EQ(1, swarm_.server("a").pings) << "servers that answered are not pinged again";
  expect_uninterrupted_run();
}

TEST_F(SessionChainTest, RefusedOpenIsRoutedAround) {
  swarm_.add("a", 0, 2, 1);
  swarm_.add("full", 2, 4, 1).refuse_opens = 1;
  swarm_.add("b", 2, 4, 10);
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain();
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c"}), peers_of(chain.route()));
  expect_uninterrupted_run();
  EXPECT_TRUE(chain.recoveries().empty());
}

TEST_F(SessionChainTest, OnlyServerRefusingSessionsIsAskedAgainThenEndsInAClearError) {
  swarm_.add("a", 0, 2, 1);
  FakeServer& full = swarm_.add("full", 2, 4, 1);
  full.refuse_opens = 1000;
  swarm_.add("c", 4, 6, 1);
  try {
    open_chain();
    FAIL() << "the chain opened without blocks [2, 4)";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("giving up after 16 repeated failures"), std::string::npos) << what;
    EXPECT_NE(what.find("cache full"), std::string::npos) << what;
  }
  // Its first refusal is free; each of the next 16 is charged.
  EXPECT_EQ(17, full.opens);
}

TEST_F(SessionChainTest, TwentyRefusingIdentitiesAreEachAskedOnce) {
  swarm_.add("a", 0, 2, 1);
  std::vector<FakeServer*> refusers;
  for (int i = 0; i < 20; ++i) {
    refusers.push_back(&swarm_.add("refuser" + std::to_string(i), 2, 4, 0.5));
    refusers.back()->refuse_opens = 1000;
  }
  swarm_.add("honest", 2, 4, 10);
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain();
  EXPECT_EQ((std::vector<std::string>{"a", "honest", "c"}), peers_of(chain.route()));
  expect_uninterrupted_run();
  for (const FakeServer* r : refusers) EXPECT_EQ(1, r->opens) << r->record.peer;
}

// A stall is no brief ban: the staller is avoided for the run.
TEST_F(SessionChainTest, AStallingPeerIsAvoidedForTheRunWhileOthersServe) {
  expect_never_asked_again("staller", [](FakeServer& s) { s.fail_as_stall = true; });
  EXPECT_EQ(1, bans_.suspicions("staller"));
}

// Proof of lying does not wear off.
TEST_F(SessionChainTest, MisbehavingPeerIsNeverUsedAgain) {
  expect_never_asked_again("liar", [](FakeServer& s) { s.fail_kind = ErrorKind::kMisbehaved; });
}

TEST_F(SessionChainTest, RefusingPeerIsUsedAgainWhenNoOtherIsLeft) {
  swarm_.add("a", 0, 2, 1);
  FakeServer& full = swarm_.add("full", 2, 4, 1);
  full.refuse_opens = 1;
  swarm_.add("backup", 2, 4, 10).fail_step = 3;
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain();
  EXPECT_EQ((std::vector<std::string>{"a", "backup", "c"}), peers_of(chain.route()));
  // At step 3 the backup fails: the suspect is better than no route.
  expect_uninterrupted_run();

  ASSERT_EQ(1u, chain.recoveries().size());
  EXPECT_EQ((std::vector<std::string>{"full"}), peers_of(chain.recoveries()[0].replacement));
  EXPECT_EQ(2, full.opens);
}

TEST_F(SessionChainTest, FalsePusherIsReplacedAndItsHonestDownstreamIsNot) {
  // a pushes false data for step 2: b computes from it and pushes on to c;
  // the client's copies correct both, each naming its upstream. Only a
  // pushed what it never signed to the client.
  swarm_.add("a", 0, 2, 1).false_push_step = 2;
  swarm_.add("a2", 0, 2, 10);
  swarm_.add("b", 2, 4, 1);
  swarm_.add("c", 4, 6, 1);
  SessionChain& chain = open_chain(/*push=*/true);
  expect_uninterrupted_run();

  ASSERT_EQ(1u, chain.recoveries().size());
  const RecoveryEvent& event = chain.recoveries()[0];
  EXPECT_EQ("a", event.failed_peer);
  EXPECT_NE(event.reason.find("pushed data that differs from its answer"), std::string::npos);
  EXPECT_EQ((std::vector<std::string>{"a2", "b", "c"}), peers_of(chain.route()));
  EXPECT_EQ(kPromptTokens + 2, event.replayed_tokens);  // steps 0, 1 and 2
  EXPECT_EQ(1, event.replay_steps);                     // as one step
  EXPECT_TRUE(bans_.banned("a", now_ + std::chrono::hours(1)));
  EXPECT_FALSE(bans_.banned("b"));
  EXPECT_EQ(1, swarm_.server("b").opens);
}

}  // namespace
}  // namespace brigade
