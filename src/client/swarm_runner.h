#pragma once
// A BlockRunner whose blocks live on the swarm: it finds the servers in the
// DHT, plans a route, opens one session per hop and runs every step through
// them. When a server fails mid-session (stream error, stall, invalid data or
// signature) it bans the server for as long as the failure's kind says
// (client/ban_list.h), routes the failed
// span over other servers, replays the session history to rebuild their KV
// caches and carries on: the tokens equal an uninterrupted run's.

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "client/ban_list.h"
#include "client/remote_session.h"
#include "client/route.h"
#include "dht/dht_node.h"
#include "dht/swarm_directory.h"
#include "model/config.h"
#include "model/generator.h"
#include "net/channels.h"

namespace brigade {

struct SwarmOptions {
  std::vector<HostPort> initial_peers;
  std::string dht_host = "127.0.0.1";  // the client's DHT node binds here
  std::chrono::milliseconds wait_for_swarm{30000};
  bool push = false;  // servers hand outputs to the next hop directly
  rpc::WireDType dtype = rpc::WIRE_F32;
  std::map<std::string, std::string> connect_via;
  // The address servers should dial to push to a server, when it differs
  // from the announced one (a tunnel between servers; the WAN benchmark
  // routes pushes through its latency emulator this way).
  std::map<std::string, std::string> push_via;
  std::chrono::milliseconds step_timeout = kDefaultStepTimeout;
  int max_recoveries = 16;                   // per forward call
  std::chrono::milliseconds ban_base{2000};  // see client/ban_list.h
  // Weight formats to route through (`--formats`): "" routes through the one
  // format most servers of the model announce, "any" through every format,
  // anything else through that format only. Fixed for the whole session.
  std::string formats;
};

struct RecoveryEvent {
  std::string failed_peer;
  std::string reason;
  std::vector<RouteHop> replacement;
  int replayed_tokens = 0;
  double ms = 0;
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

  const std::vector<RouteHop>& route() const { return route_; }
  // The weight format the route goes through ("" with --formats any).
  const std::string& weight_format() const { return weight_format_; }
  const std::vector<RecoveryEvent>& recoveries() const { return recoveries_; }
  // Mean over one-token steps of the servers' compute time, summed over hops.
  double mean_decode_compute_ms() const {
    return decode_steps_ ? decode_compute_ms_ / decode_steps_ : 0;
  }
  std::function<void(const RecoveryEvent&)> on_recovery;

 private:
  struct ActiveHop {
    RouteHop route;
    std::unique_ptr<RemoteSession> session;
  };
  // The inputs of one step at every block boundary the route had then.
  struct PastStep {
    int position = 0;
    std::map<int, WireTensor> inputs;  // by first block of the hop
  };

  std::vector<RouteHop> plan(int first_block, int end_block);
  std::unique_ptr<RemoteSession> open_session(const RouteHop& hop);
  // Runs one step through hop `i` (relay), checking the digests.
  WireTensor run_hop(ActiveHop& hop, int64_t step, int position, const WireTensor& input);
  // Runs the current step through every hop, in push mode or relay mode.
  WireTensor run_step(WireTensor input, int position, PastStep& record);
  // Replaces hops_[index] with a fresh route over its span and replays history.
  void recover(size_t index, const HopFailure& failure);
  // Pings the online servers of view_ whose RTT is not known yet.
  void measure_new_rtts();
  // Push mode: tells every hop where to push and whom to take pushes from.
  void send_routes();
  // Push mode: the hops that pushed data they never signed to us in `step`.
  std::vector<size_t> false_pushers(int64_t step);

  ModelConfig config_;
  ExpectedModel model_;
  std::string weight_format_;
  SwarmOptions options_;
  int batch_, max_length_;
  std::unique_ptr<DhtNode> dht_;
  ChannelPool channels_;
  SwarmView view_;
  RouteCosts costs_;
  std::vector<ActiveHop> hops_;
  std::vector<RouteHop> route_;
  std::vector<PastStep> history_;
  int64_t next_step_ = 0;
  double compute_ms_ = 0;  // server compute of the current step, summed over hops
  double decode_compute_ms_ = 0;
  int decode_steps_ = 0;
  std::vector<RecoveryEvent> recoveries_;
  BanList bans_;
};

}  // namespace brigade
