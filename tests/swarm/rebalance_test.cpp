// Rebalancing (issue 14, item 1): servers started with --num-blocks re-read
// the swarm and move to the blocks it lacks. Two servers started together
// over 8 blocks end up covering all 8; a server doubling a span moves to
// blocks that lost their server (a bounded wait: the blocks are served
// again, and by the mover); and the moved server's blocks compute what
// the local engine computes.

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "common/swarm_fixture.h"
#include "net/address.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;
using namespace std::chrono_literals;

MakeModelOptions eight_blocks() {
  MakeModelOptions o = model_options();
  o.layers = 8;
  return o;
}

// A `brigade server --num-blocks K` that re-reads the swarm every second.
std::unique_ptr<ChildProcess> rebalancing_server(const std::filesystem::path& model,
                                                 const std::string& dht, int k,
                                                 const std::filesystem::path& log) {
  const std::string address = "127.0.0.1:" + std::to_string(free_tcp_port());
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{BRIGADE_BINARY, "server", "--model", model.string(), "--num-blocks",
                               std::to_string(k), "--rebalance-period", "1", "--listen", address,
                               "--initial-peers", dht},
      log.string());
}

// Polls `brigade status` until every block has an online server (bounded);
// returns the last status and how long it took.
std::pair<nlohmann::json, double> wait_until_covered(const std::string& dht,
                                                     std::chrono::seconds timeout) {
  const auto began = std::chrono::steady_clock::now();
  const nlohmann::json status = status_until(
      dht,
      [](const nlohmann::json& s) {
        return s.at("missing_blocks").empty() && !s.at("servers").empty();
      },
      timeout);
  return {status, std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()};
}

TEST(Rebalance, TwoServersStartedTogetherCoverEveryBlock) {
  TempDir dir("brigade-rebalance");
  const auto model = make_small_model(dir, eight_blocks());
  const auto swarm = start_swarm(model, {}, dir / "logs");
  const std::string dht = swarm->dht_address();
  auto a = rebalancing_server(model, dht, 4, dir / "logs" / "a.log");
  auto b = rebalancing_server(model, dht, 4, dir / "logs" / "b.log");
  wait_for_log_line(*a, "serving blocks", 90s);
  wait_for_log_line(*b, "serving blocks", 90s);
  const auto [status, seconds] = wait_until_covered(dht, 60s);
  EXPECT_TRUE(status.at("missing_blocks").empty()) << status.dump(2) << "\n"
                                                   << a->log() << "\n"
                                                   << b->log();
  std::printf("two --num-blocks 4 servers covered 8 blocks %.1f s after both served\n", seconds);
  // Whichever moved serves its new blocks exactly.
  const Prompt prompt = id_prompt("5,17,42,99");
  EXPECT_EQ(swarm_generate(model, dht, prompt, 6, Output::kJson).new_ids,
            reference_run(model, prompt, 6).new_ids);
  EXPECT_EQ(a->stop(SIGTERM), 0) << a->log();
  EXPECT_EQ(b->stop(SIGTERM), 0) << b->log();
}

TEST(Rebalance, AServerDoublingASpanMovesToBlocksThatLostTheirServer) {
  TempDir dir("brigade-rebalance");
  const auto model = make_small_model(dir, eight_blocks());
  const auto swarm = start_swarm(model, {{0, 4, {}}, {4, 8, {}}}, dir / "logs");
  const std::string dht = swarm->dht_address();
  ASSERT_TRUE(wait_until_covered(dht, 20s).first.at("missing_blocks").empty());
  // Every block is served once: the newcomer doubles one half (the one
  // whose server measured itself slower).
  auto mover = rebalancing_server(model, dht, 4, dir / "logs" / "mover.log");
  wait_for_log_line(*mover, "serving blocks", 90s);
  const bool first_half = mover->log().find("serving blocks 0:4") != std::string::npos;
  ASSERT_TRUE(first_half || mover->log().find("serving blocks 4:8") != std::string::npos)
      << mover->log();
  // The other half loses its server; the mover takes it over.
  EXPECT_EQ(swarm->server(first_half ? 1 : 0).stop(SIGTERM), 0);
  const std::string move =
      first_half ? "moving from blocks [0, 4) to [4, 8)" : "moving from blocks [4, 8) to [0, 4)";
  const auto stopped = std::chrono::steady_clock::now();
  wait_for_log_line(*mover, move, 60s);
  const auto [status, covered_after] = wait_until_covered(dht, 60s);
  EXPECT_TRUE(status.at("missing_blocks").empty()) << status.dump(2) << "\n" << mover->log();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  std::printf("the abandoned half was served again %.1f s after its server stopped\n", seconds);
  const Prompt prompt = id_prompt("7,3,11");
  EXPECT_EQ(swarm_generate(model, dht, prompt, 6, Output::kJson).new_ids,
            reference_run(model, prompt, 6).new_ids);
  EXPECT_EQ(mover->stop(SIGTERM), 0) << mover->log();
}

}  // namespace
}  // namespace brigade::test
