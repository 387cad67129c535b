#include "server/metrics_endpoint.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

#include "util/error.h"

namespace brigade {

MetricsEndpoint::MetricsEndpoint(const HostPort& listen, std::function<std::string()> render)
    : http_(std::make_unique<httplib::Server>()), address_(listen) {
  http_->Get("/metrics",
             [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
               response.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
             });
  // httplib's default sets SO_REUSEPORT: a second server would share a
  // taken port. SO_REUSEADDR only.
  http_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  const bool bound = listen.port == 0 ? (address_.port = http_->bind_to_any_port(listen.host)) > 0
                                      : http_->bind_to_port(listen.host, listen.port);
  require(bound, "--metrics-listen {}: cannot listen there (is the port taken?)", listen.str());
  thread_ = std::thread([this] {
    http_->listen_after_bind();
    stopped_ = true;
  });
  // stop() does nothing until the server runs: wait for it, so that the
  // destructor can always stop it.
  while (!http_->is_running() && !stopped_)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsEndpoint::~MetricsEndpoint() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace brigade
