#pragma once
// A plain HTTP endpoint for Prometheus to scrape: GET /metrics answers what
// `render` returns, in the text exposition format; any other path is 404.
// Its own thread, on the address it is given (cpp-httplib).

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "net/address.h"

namespace httplib {
class Server;
}

namespace brigade {

class MetricsEndpoint {
 public:
  // Listens on `listen` (port 0: a free one). Throws Error when it cannot.
  MetricsEndpoint(const HostPort& listen, std::function<std::string()> render);
  ~MetricsEndpoint();  // stops listening and joins the thread
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  HostPort address() const { return address_; }

 private:
  std::unique_ptr<httplib::Server> http_;
  HostPort address_;
  std::atomic<bool> stopped_{false};  // listening ended
  std::thread thread_;
};

}  // namespace brigade
