#pragma once
// A swarm on this machine: one DHT bootstrap node and N servers, each a real
// `brigade` child process bound to 127.0.0.1 on free ports. Used by
// `brigade swarm`, the benchmarks and the end-to-end tests. Everything it
// started is stopped when it goes out of scope.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/subprocess.h"

namespace brigade {

struct ServerSpec {
  int start = 0;
  int end = 0;
  std::vector<std::string> extra_args;  // e.g. {"--family", "lan"}
};

struct LocalSwarmOptions {
  std::string binary;  // path of the brigade executable
  std::filesystem::path model_dir;
  std::vector<ServerSpec> servers;
  std::filesystem::path log_dir;  // one log file per process
  std::chrono::seconds ready_timeout{90};
};

// Blocks [0, num_blocks) split evenly over `count` servers.
std::vector<ServerSpec> even_spans(int num_blocks, int count);

class LocalSwarm {
 public:
  // Starts the DHT node, then every server, and waits until each server has
  // printed that it serves its blocks. Throws Error (with the process log)
  // when one exits or times out.
  explicit LocalSwarm(LocalSwarmOptions options);
  ~LocalSwarm();

  const std::string& dht_address() const { return dht_address_; }
  size_t size() const { return servers_.size(); }
  const std::string& server_address(size_t i) const { return addresses_[i]; }
  ChildProcess& server(size_t i) { return *servers_[i]; }
  // Starts one more server (for example a replacement); returns its index.
  size_t add_server(const ServerSpec& spec);
  void stop_all();

 private:
  LocalSwarmOptions options_;
  std::unique_ptr<ChildProcess> dht_;
  std::string dht_address_;
  std::vector<std::unique_ptr<ChildProcess>> servers_;
  std::vector<std::string> addresses_;
};

// Waits until `log` (a process's log file) contains `needle`; throws Error
// with the log when the process exits first or `timeout` passes.
void wait_for_log_line(ChildProcess& process, const std::string& needle,
                       std::chrono::seconds timeout);

}  // namespace brigade
