#include "net/address.h"

#include <arpa/inet.h>
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
