#include "server/metrics_endpoint.h"

#include <httplib.h>

#include "util/error.h"

namespace brigade {

MetricsEndpoint::MetricsEndpoint(const HostPort& listen, std::function<std::string()> render)
    : http_(std::make_unique<httplib::Server>()), address_(listen) {
  http_->Get("/metrics",
             [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
               response.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
             });
  const bool bound = listen.port == 0 ? (address_.port = http_->bind_to_any_port(listen.host)) > 0
                                      : http_->bind_to_port(listen.host, listen.port);
  require(bound, "--metrics-listen {}: cannot listen there (is the port taken?)", listen.str());
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

MetricsEndpoint::~MetricsEndpoint() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace brigade
