// The swarm's command line (issue 3, item 9): `brigade status` describes the
// swarm as it is, a server announces itself offline and exits 0 on SIGTERM,
// `brigade generate` names the blocks nobody serves, `--num-blocks` fills the
// weakest blocks, and bad flags fail with a message that says what is wrong.

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "common/swarm_fixture.h"
#include "net/address.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;

using namespace std::chrono_literals;

TEST(SwarmCli, StatusFollowsAServerThatStops) {
  TempDir dir("brigade-cli");
  const auto model = make_small_model(dir, model_options());
  const auto specs = even_spans(6, 3);
  const auto swarm = start_swarm(model, specs, dir / "logs");
  const std::string dht = swarm->dht_address();

  // Every server, its span, online and answering; nothing missing.
  auto all_listed = [&](const nlohmann::json& s) {
    for (size_t i = 0; i < swarm->size(); ++i) {
      if (find_server(s, swarm->server_address(i)).is_null()) return false;
    }
    return s.at("missing_blocks").empty();
  };
  const auto before = status_until(dht, all_listed, 10s);
  ASSERT_EQ(before.at("servers").size(), 3u) << before.dump(2);
  EXPECT_TRUE(before.at("missing_blocks").empty()) << before.dump(2);
  for (size_t i = 0; i < swarm->size(); ++i) {
    const auto s = find_server(before, swarm->server_address(i));
    ASSERT_FALSE(s.is_null()) << swarm->server_address(i) << " not in " << before.dump(2);
    EXPECT_EQ(s.at("start"), specs[i].start);
    EXPECT_EQ(s.at("end"), specs[i].end);
    EXPECT_EQ(s.at("state"), "online");
    EXPECT_EQ(s.at("reachable"), true);
    EXPECT_EQ(s.at("num_blocks"), 6);
    EXPECT_EQ(s.at("peer").get<std::string>().size(), 40u);
  }
  ASSERT_EQ(before.at("models").size(), 1u);
  EXPECT_EQ(before["models"][0]["num_blocks"], 6);

  // SIGTERM: the server announces itself offline and exits 0.
  const std::string stopped = swarm->server_address(1);
  EXPECT_EQ(swarm->server(1).stop(SIGTERM), 0) << swarm->server(1).log();
  EXPECT_NE(swarm->server(1).log().find("server stopped"), std::string::npos);

  auto shows_it_gone = [&](const nlohmann::json& s) {
    const auto entry = find_server(s, stopped);
    return (entry.is_null() || entry.at("state") == "offline") &&
           s.at("missing_blocks") == nlohmann::json::array({2, 3});
  };
  const auto after = status_until(dht, shows_it_gone, 10s);
  EXPECT_TRUE(shows_it_gone(after)) << after.dump(2);
  EXPECT_EQ(after["models"][0]["missing_blocks"], nlohmann::json::array({2, 3}));
  for (size_t i : {0u, 2u}) {
    const auto s = find_server(after, swarm->server_address(i));
    ASSERT_FALSE(s.is_null()) << after.dump(2);
    EXPECT_EQ(s.at("state"), "online");
  }

  // The human-readable status says the same.
  const CommandResult table = brigade({"status", "--initial-peers", dht});
  ASSERT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_NE(table.out.find("NO SERVER for blocks [2,3]"), std::string::npos) << table.out;

  // A client cannot route around a hole: it gives up naming the blocks.
  const CommandResult generate = brigade(generate_args(
      model, dht, text_prompt("The cat sat"), 4, Output::kJsonLogits, {"--wait-for-swarm", "2"}));
  EXPECT_NE(generate.exit_code, 0) << describe(generate);
  EXPECT_NE(generate.err.find("blocks [2, 3]"), std::string::npos) << describe(generate);
  EXPECT_TRUE(generate.out.empty()) << generate.out;
}

TEST(SwarmCli, NumBlocksPicksTheLeastServedBlocks) {
  TempDir dir("brigade-cli");
  const auto model = make_small_model(dir, model_options());
  const auto swarm = start_swarm(model, {{0, 3, {}}}, dir / "logs");
  const std::string dht = swarm->dht_address();
  // Let the first server's records settle before the second one looks.
  const auto first = status_until(
      dht,
      [](const auto& s) {
        return s.at("missing_blocks") == nlohmann::json::array({3, 4, 5});
      },
      10s);
  ASSERT_EQ(first.at("missing_blocks"), nlohmann::json::array({3, 4, 5})) << first.dump(2);

  const std::string address = "127.0.0.1:" + std::to_string(free_tcp_port());
  ChildProcess server({BRIGADE_BINARY, "server", "--model", model.string(), "--num-blocks", "3",
                       "--listen", address, "--initial-peers", dht},
                      (dir / "logs" / "num-blocks.log").string());
  wait_for_log_line(server, "serving blocks", 90s);
  EXPECT_NE(server.log().find("serving blocks 3:6 at " + address), std::string::npos)
      << server.log();

  const auto full = status_until(
      dht,
      [&](const auto& s) {
        return !find_server(s, address).is_null() && s.at("missing_blocks").empty();
      },
      10s);
  const auto entry = find_server(full, address);
  ASSERT_FALSE(entry.is_null()) << full.dump(2);
  EXPECT_EQ(entry.at("start"), 3);
  EXPECT_EQ(entry.at("end"), 6);
  EXPECT_TRUE(full.at("missing_blocks").empty()) << full.dump(2);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

TEST(SwarmCli, BadFlagsFailWithAClearMessage) {
  TempDir dir("brigade-cli");
  const auto model = make_small_model(dir, model_options()).string();
  const std::string missing = (dir / "no-such-model").string();
  // Nothing listens there: every case below fails before it would matter.
  const std::string peers = "127.0.0.1:9";
  const std::vector<std::string> server = {"server", "--initial-peers", peers};
  auto with = [](std::vector<std::string> base, const std::vector<std::string>& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  };

  expect_failure(with(server, {"--model", model, "--blocks", "5:2"}),
                 "blocks 5:2 are not a span of the model's 6 blocks");
  expect_failure(with(server, {"--model", model, "--blocks", "2"}), "--blocks: '2' is not A:B");
  expect_failure(with(server, {"--model", model, "--blocks", "a:b"}), "--blocks: 'a:b'");
  expect_failure(with(server, {"--model", model}), "--num-blocks");
  expect_failure(with(server, {"--model", model, "--num-blocks", "9"}),
                 "--num-blocks 9 exceeds the model's 6 blocks");
  expect_failure(with(server, {"--model", model, "--blocks", "0:2", "--num-blocks", "2"}),
                 "excludes");
  expect_failure(with(server, {"--model", missing, "--blocks", "0:2"}), missing);
  expect_failure(with(server, {"--model", model, "--blocks", "0:2", "--listen", "nowhere"}),
                 "--listen");
  expect_failure({"server", "--model", model, "--blocks", "0:2"}, "--initial-peers");

  expect_failure({"run", "--model", missing, "--prompt", "hi"}, missing);
  expect_failure({"run", "--model", model, "--prompt-ids", "1,2,999"},
                 "id 999 is outside the vocabulary [0, 256)");
  expect_failure({"run", "--model", model, "--prompt-ids", "1,x"}, "'x' is not a token id");
  expect_failure({"run", "--model", model, "--prompt", "hi", "--prompt-ids", "1"}, "excludes");
  expect_failure({"run", "--model", model}, "--prompt");

  const std::vector<std::string> generate = {"generate", "--initial-peers", peers};
  expect_failure(with(generate, {"--model", missing, "--prompt", "hi"}), missing);
  expect_failure(with(generate, {"--model", model, "--prompt-ids", "1,2,256"}),
                 "id 256 is outside the vocabulary [0, 256)");
  expect_failure(with(generate, {"--model", model, "--prompt-ids", "-1"}), "id -1 is outside");
  expect_failure(with(generate, {"--model", model, "--prompt", "hi", "--wire-dtype", "f8"}),
                 "unknown wire dtype 'f8'");
  expect_failure(with(generate, {"--model", model, "--prompt", "hi", "--max-new-tokens", "500"}),
                 "exceeds the model's 128 positions");
  expect_failure({"generate", "--model", model, "--prompt", "hi", "--initial-peers", "nohost"},
                 "--initial-peers: 'nohost' is not host:port");
  expect_failure({"status", "--initial-peers", "127.0.0.1:99999"}, "--initial-peers");
}

}  // namespace
}  // namespace brigade::test
