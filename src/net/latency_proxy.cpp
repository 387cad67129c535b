#include "net/latency_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>

#include "net/address.h"
#include "util/error.h"

namespace brigade {
namespace {

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// One direction of a connection: a reader stamps each chunk with the time it
// may leave, a writer sends it then. Delaying chunks, not the reader, keeps
// the link's bandwidth while adding latency, as a long cable does.
class DelayedPipe {
 public:
  DelayedPipe(int from, int to, std::chrono::microseconds delay,
              std::function<void(std::string&)> tap)
      : from_(from), to_(to), delay_(delay), tap_(std::move(tap)) {
    reader_ = std::thread([this] { read_loop(); });
    writer_ = std::thread([this] { write_loop(); });
  }
  ~DelayedPipe() {
    reader_.join();
    writer_.join();
  }

 private:
  struct Chunk {
    std::chrono::steady_clock::time_point due;
    std::string bytes;
  };

  void read_loop() {
    char buffer[64 * 1024];
    while (true) {
      const ssize_t n = ::read(from_, buffer, sizeof buffer);
      std::lock_guard lock(mutex_);
      if (n <= 0) {
        closed_ = true;
        wake_.notify_all();
        return;
      }
      std::string bytes(buffer, static_cast<size_t>(n));
      if (tap_) tap_(bytes);
      queue_.push_back({std::chrono::steady_clock::now() + delay_, std::move(bytes)});
      wake_.notify_all();
    }
  }

  void write_loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) {
        ::shutdown(to_, SHUT_WR);
        return;
      }
      Chunk chunk = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::this_thread::sleep_until(chunk.due);
      size_t sent = 0;
      while (sent < chunk.bytes.size()) {
        // MSG_NOSIGNAL: a peer that closed its end must not kill this
        // process with SIGPIPE.
        const ssize_t n =
            ::send(to_, chunk.bytes.data() + sent, chunk.bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      lock.lock();
    }
  }

  int from_, to_;
  std::chrono::microseconds delay_;
  std::function<void(std::string&)> tap_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Chunk> queue_;
  bool closed_ = false;
  std::thread reader_, writer_;
};

}  // namespace

struct LatencyProxy::Link {
  int client_fd, server_fd;
  std::unique_ptr<DelayedPipe> up, down;
  Link(int client, int server, std::chrono::microseconds delay, const Tap& tap)
      : client_fd(client), server_fd(server) {
    const auto side = [&tap](Direction direction) -> std::function<void(std::string&)> {
      if (!tap) return {};
      return [tap, direction](std::string& bytes) { tap(direction, bytes); };
    };
    up = std::make_unique<DelayedPipe>(client, server, delay, side(Direction::kUp));
    down = std::make_unique<DelayedPipe>(server, client, delay, side(Direction::kDown));
  }
  ~Link() {
    ::shutdown(client_fd, SHUT_RDWR);
    ::shutdown(server_fd, SHUT_RDWR);
    up.reset();
    down.reset();
    ::close(client_fd);
    ::close(server_fd);
  }
};

LatencyProxy::LatencyProxy(const std::string& target, std::chrono::microseconds one_way, Tap tap)
    : one_way_(one_way), tap_(std::move(tap)) {
  const HostPort t = parse_host_port(target, "proxy target");
  target_host_ = t.host;
  target_port_ = t.port;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  require(listen_fd_ >= 0, "latency proxy: cannot open a socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  require(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(listen_fd_, 64) == 0 &&
              ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0,
          "latency proxy: cannot listen on 127.0.0.1");
  address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  acceptor_ = std::thread([this] { accept_loop(); });
}

LatencyProxy::~LatencyProxy() {
  stopping_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::lock_guard lock(links_mutex_);
  links_.clear();
}

void LatencyProxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(target_port_));
    ::inet_pton(AF_INET, target_host_.c_str(), &addr.sin_addr);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      continue;
    }
    set_nodelay(client);
    set_nodelay(server);
    std::lock_guard lock(links_mutex_);
    links_.push_back(std::make_unique<Link>(client, server, one_way_, tap_));
  }
}

}  // namespace brigade
