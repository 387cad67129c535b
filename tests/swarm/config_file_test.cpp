// A server's configuration file (issue 14, item 6): `brigade server --config
// FILE` takes every flag from TOML, flags given on the command line override
// the file, and a key that is no flag, a value of the wrong kind or a file
// that is not TOML is refused by name. Also `brigade help`.

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "common/swarm_fixture.h"
#include "net/address.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;
using namespace std::chrono_literals;

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(ConfigFile, EveryFlagFromTheFileAndFlagsOverrideIt) {
  TempDir dir("brigade-config");
  const auto model = make_small_model(dir, model_options());
  const auto swarm = start_swarm(model, {}, dir / "logs");
  const std::string address = "127.0.0.1:" + std::to_string(free_tcp_port());
  const std::string config = write_file(dir, "server.toml",
                                        "model = \"" + model.string() +
                                            "\"\n"
                                            "blocks = \"0:6\"\n"
                                            "initial-peers = \"" +
                                            swarm->dht_address() +
                                            "\"\n"
                                            "listen = \"" +
                                            address +
                                            "\"\n"
                                            "name = \"from the file\"\n"
                                            "family = \"from the file\"\n"
                                            "cache-tokens = 4096\n"
                                            "plaintext = false\n");
  ChildProcess server({BRIGADE_BINARY, "server", "--config", config, "--name", "from the flag"},
                      (dir / "logs" / "server.log").string());
  wait_for_log_line(server, "serving blocks", 60s);
  EXPECT_NE(server.log().find("serving blocks 0:6 at " + address), std::string::npos)
      << server.log();
  const auto entry = status_entry(swarm->dht_address(), address);
  EXPECT_EQ(entry.at("name"), "from the flag") << entry.dump();
  EXPECT_EQ(entry.at("family"), "from the file") << entry.dump();
  EXPECT_EQ(entry.at("cache_tokens_left"), 4096) << entry.dump();
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

TEST(ConfigFile, WhatTheFileCannotSayIsRefusedByName) {
  TempDir dir("brigade-config");
  const auto model = make_small_model(dir, model_options()).string();
  const std::string head = "model = \"" + model + "\"\ninitial-peers = \"127.0.0.1:9\"\n";
  const auto unknown =
      write_file(dir, "unknown.toml", head + "blocks = \"0:6\"\ncolour = \"red\"\n");
  expect_failure({"server", "--config", unknown},
                 "--config " + unknown + ": key 'colour' (line 4) is no flag of `brigade server`");
  const auto list = write_file(dir, "list.toml", head + "blocks = [0, 6]\n");
  expect_failure({"server", "--config", list}, "only strings, numbers and booleans");
  const auto broken = write_file(dir, "broken.toml", "model = \n");
  expect_failure({"server", "--config", broken}, "--config " + broken + ": not a TOML file");
  const auto both = write_file(dir, "both.toml", head + "num-blocks = 2\n");
  expect_failure({"server", "--config", both, "--blocks", "0:2"},
                 "--blocks 0:2 and --num-blocks 2 exclude each other");
  const auto bad_value =
      write_file(dir, "bad.toml", head + "blocks = \"0:6\"\ncache-tokens = \"x\"\n");
  expect_failure({"server", "--config", bad_value}, "key 'cache-tokens' (line 4)");
  expect_failure({"server", "--blocks", "0:6", "--initial-peers", "127.0.0.1:9"},
                 "--model is required");
}

TEST(Help, ListsTheCommandsAndOneCommandsFlags) {
  const CommandResult all = brigade({"help"});
  EXPECT_EQ(all.exit_code, 0) << describe(all);
  for (const char* command : {"server", "generate", "status", "swarm", "run"})
    EXPECT_NE(all.out.find(command), std::string::npos) << command << "\n" << all.out;
  const CommandResult server = brigade({"help", "server"});
  EXPECT_EQ(server.exit_code, 0) << describe(server);
  EXPECT_NE(server.out.find("--rebalance-period"), std::string::npos) << server.out;
  EXPECT_NE(server.out.find("--config"), std::string::npos) << server.out;
  const CommandResult unknown = brigade({"help", "serve"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("unknown command 'serve'"), std::string::npos) << describe(unknown);
}

}  // namespace
}  // namespace brigade::test
