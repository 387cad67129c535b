// Clean processes (issue 14, item 4): the DHT node and servers of `brigade
// swarm` die with it, even when it is killed with SIGKILL; a clean stop
// removes its temporary log directory; SIGHUP stops a server as SIGTERM
// does, announcing it offline.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <thread>

#include "common/swarm_fixture.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;
using namespace std::chrono_literals;

// The pids whose parent is `parent` (from /proc/PID/stat's fourth field).
std::vector<int> children_of(int parent) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so read after ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != "Z") out.push_back(std::stoi(name));
  }
  return out;
}

bool alive(int pid) { return ::kill(pid, 0) == 0; }

// Waits (bounded) until none of `pids` is alive; returns those still alive.
std::vector<int> wait_until_gone(const std::vector<int>& pids, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<int> left = pids;
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::erase_if(left, [](int pid) { return !alive(pid); });
    if (!left.empty()) std::this_thread::sleep_for(50ms);
  }
  return left;
}

// `brigade swarm` with 2 servers, started and ready.
struct RunningSwarm {
  std::unique_ptr<ChildProcess> process;
  std::string log_dir;
  std::vector<int> children;
};

RunningSwarm start_swarm_command(const TempDir& dir, const std::filesystem::path& model) {
  RunningSwarm s;
  s.process =
      std::make_unique<ChildProcess>(std::vector<std::string>{BRIGADE_BINARY, "swarm", "--model",
                                                              model.string(), "--servers", "2"},
                                     (dir / "swarm.log").string());
  wait_for_log_line(*s.process, "press Ctrl-C to stop", 60s);
  std::smatch m;
  const std::string log = s.process->log();
  if (std::regex_search(log, m, std::regex("logs in (\\S+)"))) s.log_dir = m[1];
  s.children = children_of(s.process->pid());
  return s;
}

TEST(Processes, ASwarmKilledWithSigkillTakesItsServersAndDhtNodeWithIt) {
  TempDir dir("brigade-processes");
  const auto model = make_small_model(dir, model_options());
  RunningSwarm s = start_swarm_command(dir, model);
  ASSERT_EQ(s.children.size(), 3u) << "a DHT node and 2 servers\n" << s.process->log();
  EXPECT_EQ(s.process->stop(SIGKILL, 10s), -SIGKILL);
  const std::vector<int> left = wait_until_gone(s.children, 30s);
  EXPECT_EQ(left, std::vector<int>{}) << "children outlived the swarm";
  for (int pid : left) ::kill(pid, SIGKILL);  // nothing outlives the test
}

TEST(Processes, ACleanStopRemovesTheTemporaryLogDirectory) {
  TempDir dir("brigade-processes");
  const auto model = make_small_model(dir, model_options());
  RunningSwarm s = start_swarm_command(dir, model);
  ASSERT_FALSE(s.log_dir.empty()) << s.process->log();
  EXPECT_TRUE(std::filesystem::exists(s.log_dir)) << s.log_dir;
  EXPECT_EQ(s.process->stop(SIGTERM, 30s), 0) << s.process->log();
  EXPECT_FALSE(std::filesystem::exists(s.log_dir)) << s.log_dir << " left behind";
  EXPECT_EQ(wait_until_gone(s.children, 30s), std::vector<int>{});
}

TEST(Processes, SighupStopsAServerThatAnnouncesItselfOffline) {
  TempDir dir("brigade-processes");
  const auto model = make_small_model(dir, model_options());
  const auto swarm = start_swarm(model, {{0, 6}}, dir / "logs");
  const std::string address = swarm->server_address(0);
  EXPECT_EQ(status_entry(swarm->dht_address(), address).at("state"), "online");
  EXPECT_EQ(swarm->server(0).stop(SIGHUP, 30s), 0) << swarm->server(0).log();
  EXPECT_NE(swarm->server(0).log().find("server stopped"), std::string::npos)
      << swarm->server(0).log();
  // Offline (or its records gone) within a bounded wait: the DHT needs a moment.
  const auto gone = [&](const nlohmann::json& status) {
    const nlohmann::json entry = find_server(status, address);
    return entry.is_null() || entry.at("state") == "offline";
  };
  const nlohmann::json status = status_until(swarm->dht_address(), gone, 10s);
  EXPECT_TRUE(gone(status)) << status.dump(2);
}

}  // namespace
}  // namespace brigade::test
