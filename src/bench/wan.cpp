#include "bench/wan.h"

#include <algorithm>

namespace brigade::bench {

std::vector<std::string> WanLinks::generate_args() const {
  return {"--connect-via", connect_via, "--push-via", push_via};
}

WanLinks emulate_wan(const LocalSwarm& swarm, const std::vector<double>& client_rtt_ms,
                     double server_rtt_ms) {
  const auto half = [](double rtt_ms) {
    return std::chrono::microseconds(static_cast<int64_t>(rtt_ms * 500));
  };
  WanLinks links;
  for (size_t i = 0; i < swarm.size(); ++i) {
    const std::string& address = swarm.server_address(i);
    const double rtt = client_rtt_ms[std::min(i, client_rtt_ms.size() - 1)];
    links.client_proxies.push_back(std::make_unique<LatencyProxy>(address, half(rtt)));
    links.server_proxies.push_back(std::make_unique<LatencyProxy>(address, half(server_rtt_ms)));
    links.connect_via += (i ? "," : "") + address + "=" + links.client_proxies.back()->address();
    links.push_via += (i ? "," : "") + address + "=" + links.server_proxies.back()->address();
  }
  return links;
}

}  // namespace brigade::bench
