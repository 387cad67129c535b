#pragma once
// host:port addresses. Brigade listens and dials by "host:port" strings (as
// gRPC does); these helpers parse and check them in one place.

#include <string>
#include <vector>

namespace brigade {

struct HostPort {
  std::string host;
  int port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

// Throws Error naming `what` (e.g. "--listen") on a missing host or a port
// outside 0..65535.
HostPort parse_host_port(const std::string& text, const std::string& what);
// A comma-separated list of host:port.
std::vector<HostPort> parse_host_port_list(const std::string& text, const std::string& what);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read
// it, close). Used by the swarm launcher and tests.
int free_tcp_port();
// Same for UDP (the DHT).
int free_udp_port();

}  // namespace brigade
