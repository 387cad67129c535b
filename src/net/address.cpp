#include "net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>

#include "util/error.h"

namespace brigade {

HostPort parse_host_port(const std::string& text, const std::string& what) {
  const auto colon = text.rfind(':');
  require(colon != std::string::npos && colon > 0, "{}: '{}' is not host:port", what, text);
  HostPort out;
  out.host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  require(
      ec == std::errc() && end == port.data() + port.size() && out.port >= 0 && out.port <= 65535,
      "{}: '{}' has no valid port (0..65535)", what, text);
  return out;
}

std::string resolve_ipv4(const std::string& host, const std::string& what) {
  in_addr parsed{};
  if (::inet_pton(AF_INET, host.c_str(), &parsed) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  require(rc == 0 && found != nullptr, "{}: host '{}' does not resolve to an IPv4 address ({})",
          what, host, rc == 0 ? "no address" : ::gai_strerror(rc));
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr, text,
              sizeof text);
  ::freeaddrinfo(found);
  return text;
}

std::string local_ipv4_towards(const std::string& host, const std::string& what) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);  // any port: a UDP connect only picks the route
  const std::string ip = resolve_ipv4(host, what);
  ::inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  if ((ntohl(to.sin_addr.s_addr) >> 24) == 127) return "127.0.0.1";
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  require(fd >= 0, "{}: cannot open a socket to find the route to {}", what, ip);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
  ::close(fd);
  require(ok, "{}: no route from this machine to {}", what, ip);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return text;
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0"; }

std::vector<HostPort> parse_host_port_list(const std::string& text, const std::string& what) {
  std::vector<HostPort> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t comma = text.find(',', begin);
    const std::string item =
        text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    if (!item.empty()) out.push_back(parse_host_port(item, what));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return out;
}

namespace {

int free_port(int type) {
  const int fd = ::socket(AF_INET, type, 0);
  require(fd >= 0, "cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  require(ok, "cannot bind 127.0.0.1:0 to find a free port");
  return ntohs(addr.sin_port);
}

}  // namespace

int free_tcp_port() { return free_port(SOCK_STREAM); }
int free_udp_port() { return free_port(SOCK_DGRAM); }

}  // namespace brigade
