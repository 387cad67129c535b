#pragma once
// The generator's BlockRunner for blocks that live on the swarm: it joins the
// DHT, waits until every block is served by servers of the model, and runs
// every step through a SessionChain (client/session_chain.h) over gRPC hop
// sessions. The chain does the work (routes, history, recovery, blame); this
// adapter connects it to the DHT, the channels and the generator.

#include <functional>
#include <map>
#include <memory>

#include "client/ban_list.h"
#include "client/remote_session.h"
#include "client/session_chain.h"
#include "client/swarm_map.h"
#include "dht/dht_node.h"
#include "dht/swarm_directory.h"
#include "model/config.h"
#include "model/generator.h"
#include "net/channels.h"

namespace brigade {

struct SwarmOptions {
  std::vector<HostPort> initial_peers;
  // Where the client's DHT node binds; empty: the local address that routes
  // to the first initial peer (local_ipv4_towards).
  std::string dht_host;
  std::chrono::milliseconds wait_for_swarm{30000};
  bool push = false;  // servers hand outputs to the next hop directly
  rpc::WireDType dtype = rpc::WIRE_F32;
  std::map<std::string, std::string> connect_via;
  // The address servers should dial to push to a server, when it differs
  // from the announced one (a tunnel between servers; the WAN benchmark
  // routes pushes through its latency emulator this way).
  std::map<std::string, std::string> push_via;
  // How long to wait for servers; `--step-timeout` sets deadlines.cap.
  Deadlines deadlines;
  int max_recoveries = kDefaultMaxRecoveries;  // see client/session_chain.h
  std::chrono::milliseconds ban_base{2000};    // see client/ban_list.h
  // Weight formats to route through (`--formats`): "" routes through the one
  // format most servers of the model announce, "any" through every format,
  // anything else through that format only. Fixed for the whole session.
  std::string formats;
  // TLS to the peer each record names, or plaintext (`--plaintext`).
  Transport transport = Transport::kTls;
};

class SwarmBlockRunner : public BlockRunner {
 public:
  // Joins the DHT, waits for every block to be served by servers that
  // announce `model`'s id and block digests (Error naming the missing blocks
  // and the servers that hold other weights for them, after
  // options.wait_for_swarm), picks the weight format, measures RTTs, plans
  // the route and opens the sessions.
  // REQUIRES: model.num_blocks == config.num_hidden_layers.
  SwarmBlockRunner(const ModelConfig& config, ExpectedModel model, SwarmOptions options, int batch,
                   int max_length);
  ~SwarmBlockRunner() override;

  void forward(std::vector<float>& hidden, int batch, int tokens, int position) override;

  const std::vector<RouteHop>& route() const { return chain_->route(); }
  // The weight format the route goes through ("" with --formats any).
  const std::string& weight_format() const { return map_->weight_format(); }
  const std::vector<RecoveryEvent>& recoveries() const { return chain_->recoveries(); }
  // Mean over one-token steps of the servers' compute time, summed over hops.
  double mean_decode_compute_ms() const {
    return decode_steps_ ? decode_compute_ms_ / decode_steps_ : 0;
  }
  // Called after each recovery, with what it did (set it before forward).
  std::function<void(const RecoveryEvent&)> on_recovery;

 private:
  // The real HopSessionFactory: a gRPC session on the pooled channel.
  std::unique_ptr<HopSession> open_session(const RouteHop& hop, std::chrono::milliseconds timeout);

  ModelConfig config_;
  ExpectedModel model_;
  SwarmOptions options_;
  int batch_, max_length_;
  std::unique_ptr<DhtNode> dht_;
  ChannelPool channels_;
  Watchdog watchdog_;  // times the session opens
  BanList bans_;
  std::unique_ptr<SwarmMap> map_;
  std::unique_ptr<SessionChain> chain_;
  double decode_compute_ms_ = 0;
  int decode_steps_ = 0;
};

}  // namespace brigade
