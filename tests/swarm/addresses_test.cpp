// Addresses beyond loopback (issue 14, item 2): a taken listen port is an
// error (gRPC's SO_REUSEPORT is off), a wildcard listen address needs
// --announce, host names resolve in --initial-peers, and a bootstrap node
// that does not answer is an error with a non-zero exit for `server`,
// `status` and `generate` alike. Every address here is on loopback; no
// test asks a name server (`localhost` comes from /etc/hosts).

#include <gtest/gtest.h>

#include "common/swarm_fixture.h"
#include "net/address.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;
using namespace std::chrono_literals;

TEST(Addresses, ASecondServerOnATakenPortRefusesToStart) {
  TempDir dir("brigade-addresses");
  const auto model = make_small_model(dir, model_options());
  const auto swarm = start_swarm(model, {{0, 6}}, dir / "logs");
  const std::string taken = swarm->server_address(0);
  expect_failure({"server", "--model", model.string(), "--blocks", "0:6", "--initial-peers",
                  swarm->dht_address(), "--listen", taken},
                 "cannot listen on " + taken + " (is the port taken?)");
  // The first server still answers as itself.
  EXPECT_TRUE(swarm->server(0).running()) << swarm->server(0).log();
  EXPECT_EQ(swarm_status(swarm->dht_address()).at("servers").size(), 1u);
}

TEST(Addresses, AWildcardListenAddressNeedsAnAnnouncedOne) {
  TempDir dir("brigade-addresses");
  const auto model = make_small_model(dir, model_options());
  // Refused before anything binds: the DHT address is never dialled.
  expect_failure({"server", "--model", model.string(), "--blocks", "0:6", "--initial-peers",
                  "127.0.0.1:9", "--listen", "0.0.0.0:0"},
                 "--listen 0.0.0.0:0 listens on every interface: give --announce HOST:PORT");
  expect_failure({"server", "--model", model.string(), "--blocks", "0:6", "--initial-peers",
                  "127.0.0.1:9", "--announce", "0.0.0.0:5000"},
                 "--announce 0.0.0.0:5000 is not an address others can dial");
}

TEST(Addresses, HostNamesResolveInInitialPeers) {
  TempDir dir("brigade-addresses");
  const auto model = make_small_model(dir, model_options());
  const auto swarm = start_swarm(model, {{0, 6}}, dir / "logs");
  const HostPort dht = parse_host_port(swarm->dht_address(), "dht");
  const std::string by_name = "localhost:" + std::to_string(dht.port);
  const auto status = swarm_status(by_name);
  ASSERT_EQ(status.at("servers").size(), 1u) << status.dump(2);
  EXPECT_EQ(status.at("servers")[0].at("address"), swarm->server_address(0));
  const auto got = swarm_generate(model, by_name, id_prompt("5,17,42"), 4, Output::kJson);
  EXPECT_EQ(got.new_ids, reference_run(model, id_prompt("5,17,42"), 4).new_ids);
}

TEST(Addresses, ABootstrapNodeThatDoesNotAnswerIsAnError) {
  TempDir dir("brigade-addresses");
  const auto model = make_small_model(dir, model_options()).string();
  // A UDP port nothing listens on.
  const std::string silent = "127.0.0.1:" + std::to_string(free_udp_port());
  const std::string why = "no DHT node answered at --initial-peers " + silent;
  expect_failure({"server", "--model", model, "--blocks", "0:6", "--initial-peers", silent}, why);
  expect_failure({"status", "--initial-peers", silent}, why);
  expect_failure({"generate", "--model", model, "--prompt-ids", "5,17", "--initial-peers", silent},
                 why);
}

}  // namespace
}  // namespace brigade::test
