#pragma once
// A TCP forwarder that delays every byte by a fixed one-way latency in each
// direction: a wide-area link emulated in user space (these machines have no
// netem). The WAN benchmark puts one in front of every server for the
// client's links and one for the server-to-server links.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace brigade {

class LatencyProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards each connection to
  // `target` (host:port), delaying data by `one_way` in both directions.
  LatencyProxy(const std::string& target, std::chrono::microseconds one_way);
  ~LatencyProxy();
  LatencyProxy(const LatencyProxy&) = delete;
  LatencyProxy& operator=(const LatencyProxy&) = delete;

  const std::string& address() const { return address_; }

 private:
  struct Link;
  void accept_loop();

  std::string target_host_;
  int target_port_ = 0;
  std::chrono::microseconds one_way_;
  int listen_fd_ = -1;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex links_mutex_;
  std::vector<std::unique_ptr<Link>> links_;
};

}  // namespace brigade
