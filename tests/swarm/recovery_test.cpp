// Fault tolerance end to end (issue 5, items 1, 2 and 6; DESIGN.md point 6):
// one server of a live route fails in each way `brigade server --fault` can
// make it fail (crash, stall, corrupt outputs, refused sessions), in push and
// in relay mode. The client must ban it, route its span over other servers
// (one or several), replay the session history into them, report what it
// did on --jsonl, and still produce exactly the tokens of an uninterrupted
// `brigade run`.
//
// The faulty server is made the client's first choice deterministically:
// every honest server that could replace it sits behind a slow link (see
// SlowLink), so the client only routes through one once the faulty server is
// banned.

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "common/swarm_fixture.h"

namespace brigade::swarm_fixture {
namespace {

const Prompt kPrompt = id_prompt("5,17,42,99");
constexpr int kPromptTokens = 4;
constexpr int kNewTokens = 8;  // 8 steps: the prefill, then 7 one-token steps

enum class Mode { kPush, kRelay };

void PrintTo(Mode mode, std::ostream* out) { *out << (mode == Mode::kPush ? "push" : "relay"); }

std::string mode_name(const ::testing::TestParamInfo<Mode>& info) {
  return info.param == Mode::kPush ? "Push" : "Relay";
}

// An honest server for the faulty server's blocks, behind a slow link.
struct Replacement {
  ServerSpec spec;
  std::chrono::milliseconds one_way{60};  // of its slow link
};

// A swarm where the span [faulty.start, faulty.end) is served by a fast
// server started with a --fault, and by replacements behind slow links;
// `healthy` (fast too) serves the rest.
struct FaultyServerSwarm {
  std::vector<ServerSpec> healthy;
  ServerSpec faulty;
  std::vector<Replacement> replacements;
};

// Blocks [0, 2) and [4, 6) on healthy servers; [2, 4) on a server started
// with `--fault fault` and on one replacement.
FaultyServerSwarm middle_span_fault(const std::string& fault) {
  FaultyServerSwarm layout;
  layout.healthy = {{0, 2, {}}, {4, 6, {}}};
  layout.faulty = {2, 4, {"--fault", fault}};
  layout.replacements = {Replacement{{2, 4, {}}}};
  return layout;
}

class RecoverySwarm : public ::testing::Test {
 protected:
  void start(const FaultyServerSwarm& layout) {
    model_ = test::make_small_model(dir_, model_options());
    expected_ = reference_run(model_, kPrompt, kNewTokens);
    ASSERT_EQ(expected_.new_ids.size(), static_cast<size_t>(kNewTokens))
        << "the reference run stopped early; the fault would not trigger";
    std::vector<ServerSpec> fast = layout.healthy;
    fast.push_back(layout.faulty);
    swarm_ = start_swarm(model_, fast, dir_ / "logs");
    faulty_index_ = layout.healthy.size();
    faulty_ = layout.faulty;
    faulty_peer_ = peer_of(swarm_->server_address(faulty_index_));
    for (const auto& r : layout.replacements) {
      const size_t i = swarm_->add_server(r.spec);
      slow_links_.push_back(std::make_unique<SlowLink>(swarm_->server_address(i), r.one_way));
      replacement_peers_.insert(peer_of(swarm_->server_address(i)));
      replacement_addresses_.push_back(swarm_->server_address(i));
    }
  }

  // `brigade generate --jsonl` in this test's mode through the swarm.
  Generation generate(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = connect_via_args(slow_links_);
    if (mode_ == Mode::kRelay) args.push_back("--no-push");
    args.insert(args.end(), extra.begin(), extra.end());
    return swarm_generate(model_, swarm_->dht_address(), kPrompt, kNewTokens, Output::kJsonl, args);
  }

  // The events of `g` say: the route (through the faulty server) first, then
  // every token in order with its id, text and time, with exactly one
  // recovery among them that names the faulty server, gives `reason_part`,
  // and moved its span onto replacement servers; last, "done" with the same
  // recovery and a final route without the faulty server. Returns the
  // recovery event and the index of the token it came before.
  std::pair<nlohmann::json, int> expect_one_recovery(const Generation& g,
                                                     const std::string& reason_part) {
    EXPECT_EQ(g.ids, expected_.ids) << "the tokens differ from an uninterrupted run";
    const auto& events = g.events;
    EXPECT_GE(events.size(), static_cast<size_t>(kNewTokens + 3)) << g.raw.out;
    if (events.size() < 2) return {};
    EXPECT_EQ(events.front().value("event", ""), "route") << events.front().dump();
    const auto& initial = events.front().at("route");
    expect_tiles(initial, 0, model_options().layers);
    EXPECT_TRUE(route_has_peer(initial, faulty_peer_))
        << "the faulty server should be on the initial route: " << initial.dump() << "\n"
        << g.raw.err;

    nlohmann::json recovery;
    int recovery_before_token = -1;
    int next_token = 0;
    for (size_t i = 1; i + 1 < events.size(); ++i) {
      const auto& e = events[i];
      const std::string kind = e.value("event", "");
      if (kind == "token") {
        EXPECT_EQ(e.at("index").get<int>(), next_token) << e.dump();
        if (next_token < static_cast<int>(expected_.new_ids.size())) {
          EXPECT_EQ(e.at("id").get<int32_t>(), expected_.new_ids[next_token]) << e.dump();
        }
        EXPECT_TRUE(e.at("text").is_string()) << e.dump();
        EXPECT_TRUE(e.at("ms").is_number()) << e.dump();
        EXPECT_GE(e.at("ms").get<double>(), 0.0) << e.dump();
        ++next_token;
      } else if (kind == "recovery") {
        EXPECT_TRUE(recovery.is_null()) << "a second recovery: " << e.dump();
        recovery = e;
        recovery_before_token = next_token;
      } else {
        ADD_FAILURE() << "unexpected event " << e.dump();
      }
    }
    EXPECT_EQ(next_token, kNewTokens);

    const auto& done = events.back();
    EXPECT_EQ(done.value("event", ""), "done") << done.dump();
    EXPECT_EQ(done.value("push", mode_ == Mode::kRelay), mode_ == Mode::kPush);
    EXPECT_EQ(g.recoveries.size(), 1u) << g.recoveries.dump();
    if (recovery.is_null()) {
      ADD_FAILURE() << "no recovery event:\n" << g.raw.out << "\n" << g.raw.err;
      return {};
    }
    if (!g.recoveries.empty()) {
      EXPECT_EQ(g.recoveries.front().at("failed_peer"), recovery.at("failed_peer"));
      EXPECT_EQ(g.recoveries.front().at("replacement"), recovery.at("replacement"));
    }

    EXPECT_EQ(recovery.at("failed_peer").get<std::string>(), faulty_peer_) << recovery.dump();
    const std::string reason = recovery.at("reason").get<std::string>();
    EXPECT_NE(reason.find(reason_part), std::string::npos)
        << "reason '" << reason << "' should mention '" << reason_part << "'";
    const auto& replacement = recovery.at("replacement");
    expect_tiles(replacement, faulty_.start, faulty_.end);
    for (const auto& hop : replacement) {
      EXPECT_TRUE(replacement_peers_.count(hop.at("peer").get<std::string>()))
          << "replaced by a server that is not a replacement: " << replacement.dump();
    }
    EXPECT_GE(recovery.at("replayed_tokens").get<int>(), 0);
    EXPECT_GE(recovery.at("ms").get<double>(), 0.0);

    // The failed server is banned: the route the generation ended on avoids it.
    expect_tiles(g.route, 0, model_options().layers);
    EXPECT_FALSE(route_has_peer(g.route, faulty_peer_)) << g.route.dump();
    EXPECT_EQ(done.at("route"), g.route);
    return {recovery, recovery_before_token};
  }

  Mode mode_ = Mode::kPush;
  test::TempDir dir_{"brigade-recovery"};
  std::filesystem::path model_;
  Generation expected_;
  std::unique_ptr<LocalSwarm> swarm_;
  std::vector<std::unique_ptr<SlowLink>> slow_links_;
  size_t faulty_index_ = 0;
  ServerSpec faulty_;
  std::string faulty_peer_;
  std::set<std::string> replacement_peers_;
  std::vector<std::string> replacement_addresses_;
};

// After a recovery in push mode the client re-wires the pushes: the server
// before the replaced span pushes to its replacement (which, behind its slow
// link, always gets the push before the client's copy). Relay mode never
// pushes.
void expect_pushes_into(const std::string& address, Mode mode) {
  const auto counters = server_info(address).push();
  if (mode == Mode::kPush) {
    EXPECT_GT(counters.accepted(), 0u) << address;
  } else {
    EXPECT_EQ(counters.accepted(), 0u) << address;
    EXPECT_EQ(counters.sent(), 0u) << address;
  }
  EXPECT_EQ(counters.mismatched(), 0u) << address;
}

// Every test in push mode and in relay mode.
class Recovery : public RecoverySwarm, public ::testing::WithParamInterface<Mode> {
 protected:
  Recovery() { mode_ = GetParam(); }
};

// Tests of paths that do not depend on the mode (push).
class RecoveryOnce : public RecoverySwarm {};

// A server of the middle span crashes while answering step 3: the client
// replays steps 0..2 (the prompt and two tokens) into the replacement.
TEST_P(Recovery, CrashMidGenerationIsReplayedOnAReplacement) {
  ASSERT_NO_FATAL_FAILURE(start(middle_span_fault("crash-after:3")));
  const Generation g = generate();
  const auto [recovery, before_token] = expect_one_recovery(g, "");
  ASSERT_FALSE(recovery.is_null());
  EXPECT_EQ(before_token, 3) << "the crash was on step 3, which yields token 3";
  EXPECT_EQ(recovery.at("replayed_tokens").get<int>(), kPromptTokens + 2) << recovery.dump();
  EXPECT_EQ(recovery.at("replay_steps").get<int>(), 1) << "the history replays as one step";
  EXPECT_EQ(recovery.at("replacement").size(), 1u);
  expect_pushes_into(replacement_addresses_[0], mode_);
  // The server did crash (fault injection exits with status 86).
  EXPECT_FALSE(swarm_->server(faulty_index_).running());
  EXPECT_EQ(swarm_->server(faulty_index_).stop(), 86);
}

// The crashed span [0, 4) has no single replacement: two overlapping servers
// [0, 3) and [2, 4) take it over together.
TEST_P(Recovery, FailedSpanIsTakenOverBySeveralServers) {
  ASSERT_NO_FATAL_FAILURE(start({{{4, 6, {}}},
                                 {0, 4, {"--fault", "crash-after:2"}},
                                 {Replacement{{0, 3, {}}}, Replacement{{2, 4, {}}}}}));
  const Generation g = generate();
  const auto [recovery, before_token] = expect_one_recovery(g, "");
  ASSERT_FALSE(recovery.is_null());
  EXPECT_EQ(before_token, 2);
  EXPECT_EQ(recovery.at("replayed_tokens").get<int>(), kPromptTokens + 1) << recovery.dump();
  const auto& replacement = recovery.at("replacement");
  ASSERT_EQ(replacement.size(), 2u) << replacement.dump();
  EXPECT_NE(replacement[0].at("peer"), replacement[1].at("peer"));
  // The final route is the two replacements, then the healthy tail.
  ASSERT_EQ(g.route.size(), 3u) << g.route.dump();
  EXPECT_EQ(g.route[0], replacement[0]);
  EXPECT_EQ(g.route[1], replacement[1]);
  EXPECT_EQ(g.route[2].at("peer").get<std::string>(), peer_of(swarm_->server_address(0)));
  // The second replacement takes pushes from the first.
  const std::string second = replacement[1].at("peer").get<std::string>();
  expect_pushes_into(peer_of(replacement_addresses_[0]) == second ? replacement_addresses_[0]
                                                                  : replacement_addresses_[1],
                     mode_);
  EXPECT_EQ(swarm_->server(faulty_index_).stop(), 86);
}

// A server that stops answering (but keeps its connections open) is dropped
// once --step-timeout passes.
// The step's deadline comes from the server's announced speed (a few ms
// here), so the stall costs the deadline's floor, not --step-timeout.
TEST_P(Recovery, StalledServerIsReplacedAfterItsStepDeadline) {
  ASSERT_NO_FATAL_FAILURE(start(middle_span_fault("stall-after:3")));
  const Generation g = generate({"--step-timeout", "60"});
  const auto [recovery, before_token] = expect_one_recovery(g, "no answer to step 3 within");
  ASSERT_FALSE(recovery.is_null());
  EXPECT_NE(recovery.at("reason").get<std::string>().find("no answer"), std::string::npos)
      << recovery.dump();
  EXPECT_EQ(before_token, 3);
  EXPECT_EQ(recovery.at("replayed_tokens").get<int>(), kPromptTokens + 2) << recovery.dump();
  // Stalled, not dead.
  EXPECT_TRUE(swarm_->server(faulty_index_).running());
}

// A server whose answers do not match the digest it signed is dropped at
// once (its first answer, the prefill, is already bad: nothing to replay).
TEST_P(Recovery, CorruptOutputsAreDetectedAndReplaced) {
  ASSERT_NO_FATAL_FAILURE(start(middle_span_fault("corrupt-outputs")));
  const Generation g = generate();
  const auto [recovery, before_token] = expect_one_recovery(g, "digest");
  ASSERT_FALSE(recovery.is_null());
  EXPECT_EQ(before_token, 0);
  EXPECT_EQ(recovery.at("replayed_tokens").get<int>(), 0) << recovery.dump();
  EXPECT_TRUE(swarm_->server(faulty_index_).running());
}

// A server that announces blocks but refuses every session: the client must
// route around it, whether it finds out while opening the route or later.
TEST_P(Recovery, ServerRefusingSessionsIsRoutedAround) {
  ASSERT_NO_FATAL_FAILURE(start(middle_span_fault("refuse-sessions")));
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const Generation g = generate();
    EXPECT_EQ(g.ids, expected_.ids);
    expect_tiles(g.route, 0, model_options().layers);
    EXPECT_FALSE(route_has_peer(g.route, faulty_peer_)) << g.route.dump();
    for (const auto& e : g.events) {
      if (e.value("event", "") == "route") {
        EXPECT_FALSE(route_has_peer(e.at("route"), faulty_peer_))
            << "a session that could not be opened is not part of the route: " << e.dump();
      }
    }
    for (const auto& r : g.recoveries) {
      EXPECT_EQ(r.at("failed_peer").get<std::string>(), faulty_peer_) << r.dump();
    }
  }
}

// The first replacement chosen (behind a faster link than the second) crashes
// itself while the history is replayed into it (its first answer: the whole
// history is one step); the client bans it too and replays into the next
// one. One recovery, ending on the honest server.
TEST_P(Recovery, ReplacementFailingDuringReplayIsReplacedToo) {
  FaultyServerSwarm layout = middle_span_fault("crash-after:3");
  layout.replacements = {
      Replacement{{2, 4, {"--fault", "crash-after:0"}}, std::chrono::milliseconds(20)},
      Replacement{{2, 4, {}}, std::chrono::milliseconds(100)}};
  ASSERT_NO_FATAL_FAILURE(start(layout));
  const std::string crashing_replacement = peer_of(replacement_addresses_[0]);
  const Generation g = generate();
  const auto [recovery, before_token] = expect_one_recovery(g, "");
  ASSERT_FALSE(recovery.is_null());
  EXPECT_EQ(before_token, 3);
  EXPECT_EQ(recovery.at("replayed_tokens").get<int>(), kPromptTokens + 2) << recovery.dump();
  ASSERT_EQ(recovery.at("replacement").size(), 1u) << recovery.dump();
  EXPECT_EQ(recovery.at("replacement")[0].at("peer").get<std::string>(),
            peer_of(replacement_addresses_[1]))
      << "the replacement that crashed during the replay is still used";
  EXPECT_FALSE(route_has_peer(g.route, crashing_replacement)) << g.route.dump();
  // Both faulty servers did crash: the first replacement on its first answer.
  EXPECT_EQ(swarm_->server(faulty_index_).stop(), 86);
  EXPECT_EQ(swarm_->server(faulty_index_ + 1).stop(), 86)
      << "the first replacement was never tried:\n"
      << g.raw.err;
}

// Two servers of one route fail at different steps: two recoveries, each
// replaying everything generated so far, and the route ends with both
// replaced.
TEST_P(Recovery, TwoFailuresInOneGeneration) {
  ASSERT_NO_FATAL_FAILURE(start({{{0, 2, {"--fault", "crash-after:2"}}, {2, 4, {}}},
                                 {4, 6, {"--fault", "crash-after:5"}},
                                 {Replacement{{0, 2, {}}}, Replacement{{4, 6, {}}}}}));
  const std::string first_faulty = peer_of(swarm_->server_address(0));
  const Generation g = generate();
  EXPECT_EQ(g.ids, expected_.ids);
  ASSERT_FALSE(g.events.empty());
  const auto& initial = g.events.front().at("route");
  EXPECT_TRUE(route_has_peer(initial, first_faulty)) << initial.dump();
  EXPECT_TRUE(route_has_peer(initial, faulty_peer_)) << initial.dump();
  std::vector<std::pair<nlohmann::json, int>> recoveries;  // with the token they preceded
  int tokens = 0;
  for (const auto& e : g.events) {
    if (e.value("event", "") == "token") ++tokens;
    if (e.value("event", "") == "recovery") recoveries.emplace_back(e, tokens);
  }
  EXPECT_EQ(tokens, kNewTokens);
  ASSERT_EQ(recoveries.size(), 2u) << g.raw.out;
  EXPECT_EQ(g.recoveries.size(), 2u);
  EXPECT_EQ(recoveries[0].first.at("failed_peer").get<std::string>(), first_faulty);
  EXPECT_EQ(recoveries[0].second, 2);
  EXPECT_EQ(recoveries[0].first.at("replayed_tokens").get<int>(), kPromptTokens + 1);
  expect_tiles(recoveries[0].first.at("replacement"), 0, 2);
  EXPECT_EQ(recoveries[1].first.at("failed_peer").get<std::string>(), faulty_peer_);
  EXPECT_EQ(recoveries[1].second, 5);
  EXPECT_EQ(recoveries[1].first.at("replayed_tokens").get<int>(), kPromptTokens + 4);
  expect_tiles(recoveries[1].first.at("replacement"), 4, 6);
  ASSERT_EQ(g.route.size(), 3u) << g.route.dump();
  EXPECT_EQ(g.route[0].at("peer").get<std::string>(), peer_of(replacement_addresses_[0]));
  EXPECT_EQ(g.route[1].at("peer").get<std::string>(), peer_of(swarm_->server_address(1)));
  EXPECT_EQ(g.route[2].at("peer").get<std::string>(), peer_of(replacement_addresses_[1]));
  EXPECT_EQ(swarm_->server(0).stop(), 86);
  EXPECT_EQ(swarm_->server(faulty_index_).stop(), 86);
}

// Nobody else serves the crashed server's blocks: the client waits a while
// for the swarm to heal (and tries the crashed server again once its ban
// ends), then fails with an error naming the blocks, not a hang.
TEST_F(RecoveryOnce, NoReplacementEndsInAnError) {
  FaultyServerSwarm layout = middle_span_fault("crash-after:3");
  layout.replacements.clear();
  ASSERT_NO_FATAL_FAILURE(start(layout));
  const CommandResult r = brigade(
      generate_args(model_, swarm_->dht_address(), kPrompt, kNewTokens, Output::kJsonl, {}));
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("cannot replace server " + faulty_peer_ + " for blocks [2, 4)"),
            std::string::npos)
      << describe(r);
  // The tokens before the crash were streamed; no "done" event.
  const auto events = json_lines(r.out);
  ASSERT_EQ(events.size(), 4u) << r.out;
  EXPECT_EQ(events[0].value("event", ""), "route");
  EXPECT_EQ(events[3].value("event", ""), "token");
  EXPECT_EQ(events[3].value("index", -1), 2);
}

// The only server of a span refuses every session: the client cannot route,
// and says why (the blocks and the refusal), at once.
TEST_F(RecoveryOnce, OnlyServerRefusingSessionsEndsInAClearError) {
  FaultyServerSwarm layout = middle_span_fault("refuse-sessions");
  layout.replacements.clear();
  ASSERT_NO_FATAL_FAILURE(start(layout));
  const CommandResult r = brigade(
      generate_args(model_, swarm_->dht_address(), kPrompt, kNewTokens, Output::kJsonl, {}));
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("blocks [2, 3]"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("refusing sessions"), std::string::npos) << describe(r);
  EXPECT_TRUE(json_lines(r.out).empty()) << r.out;
}

// Nobody else serves the crashed server's blocks until a new server joins
// the swarm after the crash: the client, still waiting, finds it in the DHT
// and carries on there.
TEST_F(RecoveryOnce, ServerJoiningAfterTheCrashIsUsed) {
  FaultyServerSwarm layout = middle_span_fault("crash-after:3");
  layout.replacements.clear();
  ASSERT_NO_FATAL_FAILURE(start(layout));
  auto run = std::async(std::launch::async, [this] { return generate(); });
  ChildProcess& faulty = swarm_->server(faulty_index_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (faulty.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(faulty.running()) << "the faulty server never crashed";
  const size_t joined = swarm_->add_server({2, 4, {}});
  replacement_peers_.insert(peer_of(swarm_->server_address(joined)));
  const Generation g = run.get();
  const auto [recovery, before_token] = expect_one_recovery(g, "");
  ASSERT_FALSE(recovery.is_null());
  EXPECT_EQ(before_token, 3);
  EXPECT_EQ(recovery.at("replayed_tokens").get<int>(), kPromptTokens + 2) << recovery.dump();
  EXPECT_TRUE(route_has_peer(g.route, peer_of(swarm_->server_address(joined)))) << g.route.dump();
}

INSTANTIATE_TEST_SUITE_P(Modes, Recovery, ::testing::Values(Mode::kPush, Mode::kRelay), mode_name);

}  // namespace
}  // namespace brigade::swarm_fixture
