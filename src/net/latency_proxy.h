#pragma once
// A TCP forwarder that delays every byte by a fixed one-way latency in each
// direction: a wide-area link emulated in user space (these machines have no
// netem). The WAN benchmark puts one in front of every server for the
// client's links and one for the server-to-server links. A tap sees (and may
// alter) every chunk in flight: the tests' eavesdropper and tamperer.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace brigade {

class LatencyProxy {
 public:
  // Which way a chunk goes: kUp from the dialling side to `target`.
  enum class Direction { kUp, kDown };
  // Called on the proxy's threads with each chunk as it is read, before it
  // is forwarded; what it leaves in `bytes` is what goes on.
  using Tap = std::function<void(Direction direction, std::string& bytes)>;

  // Listens on 127.0.0.1 (a free port) and forwards each connection to
  // `target` (host:port), delaying data by `one_way` in both directions.
  LatencyProxy(const std::string& target, std::chrono::microseconds one_way, Tap tap = {});
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
  Tap tap_;
  int listen_fd_ = -1;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex links_mutex_;
  std::vector<std::unique_ptr<Link>> links_;
};

}  // namespace brigade
