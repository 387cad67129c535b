#include "swarm/local_swarm.h"

#include <thread>

#include "net/address.h"
#include "util/error.h"

namespace brigade {

std::vector<ServerSpec> even_spans(int num_blocks, int count) {
  require(count >= 1 && count <= num_blocks, "cannot split {} blocks over {} servers", num_blocks,
          count);
  std::vector<ServerSpec> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({num_blocks * i / count, num_blocks * (i + 1) / count, {}});
  }
  return out;
}

void wait_for_log_line(ChildProcess& process, const std::string& needle,
                       std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process.log().find(needle) == std::string::npos) {
    if (!process.running())
      fail("process {} exited before '{}':\n{}", process.pid(), needle, process.log());
    if (std::chrono::steady_clock::now() > deadline) {
      fail("process {} did not print '{}' within {} s:\n{}", process.pid(), needle, timeout.count(),
           process.log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

LocalSwarm::LocalSwarm(LocalSwarmOptions options) : options_(std::move(options)) {
  std::filesystem::create_directories(options_.log_dir);
  dht_address_ = "127.0.0.1:" + std::to_string(free_udp_port());
  dht_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{options_.binary, "dht", "--listen", dht_address_},
      (options_.log_dir / "dht.log").string());
  wait_for_log_line(*dht_, "listening", options_.ready_timeout);
  for (const auto& spec : options_.servers) add_server(spec);
}

LocalSwarm::~LocalSwarm() { stop_all(); }

size_t LocalSwarm::add_server(const ServerSpec& spec) {
  const size_t index = servers_.size();
  const std::string address = "127.0.0.1:" + std::to_string(free_tcp_port());
  std::vector<std::string> argv = {
      options_.binary,   "server",
      "--model",         options_.model_dir.string(),
      "--blocks",        std::to_string(spec.start) + ":" + std::to_string(spec.end),
      "--listen",        address,
      "--initial-peers", dht_address_};
  argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
  servers_.push_back(std::make_unique<ChildProcess>(
      argv, (options_.log_dir / ("server" + std::to_string(index) + ".log")).string()));
  addresses_.push_back(address);
  wait_for_log_line(*servers_.back(), "serving blocks", options_.ready_timeout);
  return index;
}

void LocalSwarm::stop_all() {
  for (auto& server : servers_) {
    if (server) server->stop();
  }
  if (dht_) dht_->stop();
}

}  // namespace brigade
