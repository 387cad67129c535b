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
// `host` as a dotted IPv4 address: itself when it is one, else the first
// IPv4 address the resolver gives for the name. Throws Error naming `what`
// when it resolves to none.
std::string resolve_ipv4(const std::string& host, const std::string& what);

// The local IPv4 address this machine reaches `host` from (the interface
// the kernel routes to it; 127.0.0.1 for a loopback host): where a client's
// DHT node binds to talk to that bootstrap node. No packet is sent.
std::string local_ipv4_towards(const std::string& host, const std::string& what);

// 0.0.0.0: every interface, an address to listen on but never to announce.
bool is_wildcard(const std::string& host);

// A comma-separated list of host:port.
std::vector<HostPort> parse_host_port_list(const std::string& text, const std::string& what);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read
// it, close). Used by the swarm launcher and tests.
int free_tcp_port();
// Same for UDP (the DHT).
int free_udp_port();

}  // namespace brigade
