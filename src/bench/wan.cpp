#include "bench/wan.h"

#include <algorithm>

namespace brigade::bench {

MakeModelOptions wan_model_options(int layers, int hidden) {
  MakeModelOptions m;
  m.layers = layers;
  m.hidden = hidden;
  m.intermediate = hidden * 8 / 3;
  m.heads = std::max(1, hidden / 32);
  m.kv_heads = std::max(1, m.heads / 2);
  m.vocab = 512;
  return m;
}

WanLinks emulate_wan(const LocalSwarm& swarm, const std::vector<double>& client_rtt_ms,
                     double server_rtt_ms) {
  const auto half = [](double rtt_ms) {
    return std::chrono::microseconds(static_cast<int64_t>(rtt_ms * 500));
  };
  WanLinks links;
  std::string connect_via, push_via;
  for (size_t i = 0; i < swarm.size(); ++i) {
    const std::string& address = swarm.server_address(i);
    const double rtt = client_rtt_ms[std::min(i, client_rtt_ms.size() - 1)];
    links.client_proxies.push_back(std::make_unique<LatencyProxy>(address, half(rtt)));
    links.server_proxies.push_back(std::make_unique<LatencyProxy>(address, half(server_rtt_ms)));
    connect_via += (i ? "," : "") + address + "=" + links.client_proxies.back()->address();
    push_via += (i ? "," : "") + address + "=" + links.server_proxies.back()->address();
  }
  links.generate_args = {"--connect-via", connect_via, "--push-via", push_via};
  return links;
}

}  // namespace brigade::bench
