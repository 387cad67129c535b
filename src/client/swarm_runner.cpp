#include "client/swarm_runner.h"

#include "util/error.h"

namespace brigade {

SwarmBlockRunner::SwarmBlockRunner(const ModelConfig& config, ExpectedModel model,
                                   SwarmOptions options, int batch, int max_length)
    : config_(config),
      model_(std::move(model)),
      options_(std::move(options)),
      batch_(batch),
      max_length_(max_length),
      channels_(options_.connect_via, options_.transport),
      bans_(options_.ban_base) {
  require(!options_.initial_peers.empty(), "no --initial-peers given: cannot find the swarm");
  require(model_.num_blocks == config_.num_hidden_layers, "model {} has {} blocks, its config {}",
          model_.id, model_.num_blocks, config_.num_hidden_layers);
  const std::string dht_host =
      options_.dht_host.empty()
          ? local_ipv4_towards(options_.initial_peers.front().host, "--initial-peers")
          : options_.dht_host;
  dht_ = std::make_unique<DhtNode>(HostPort{dht_host, 0}, options_.initial_peers);
  dht_->require_peers(
      std::min<std::chrono::milliseconds>(options_.wait_for_swarm, std::chrono::seconds(5)));
  RouteNeeds needs;
  needs.num_blocks = config_.num_hidden_layers;
  needs.cache_tokens_needed = int64_t{batch_} * max_length_;
  needs.formats = options_.formats;
  needs.push = options_.push;
  map_ = std::make_unique<SwarmMap>(
      wait_for_full_swarm(*dht_, model_, options_.wait_for_swarm), needs,
      [this] { return read_swarm(*dht_, model_); },
      [this](const ServerRecord& server) {
        return channels_.ping_ms(server.address, server.peer);
      });
  ChainOptions chain;
  chain.push = options_.push;
  chain.push_via = options_.push_via;
  chain.max_recoveries = options_.max_recoveries;
  chain.deadlines = options_.deadlines;
  chain_ = std::make_unique<SessionChain>(
      *map_, bans_,
      [this](const RouteHop& hop, std::chrono::milliseconds timeout) {
        return open_session(hop, timeout);
      },
      chain);
  chain_->on_recovery = [this](const RecoveryEvent& event) {
    if (on_recovery) on_recovery(event);
  };
}

SwarmBlockRunner::~SwarmBlockRunner() = default;

std::unique_ptr<HopSession> SwarmBlockRunner::open_session(const RouteHop& hop,
                                                           std::chrono::milliseconds timeout) {
  SessionParams params;
  params.batch = batch_;
  params.max_length = max_length_;
  params.hidden_size = config_.hidden_size;
  params.dtype = options_.dtype;
  return std::make_unique<RemoteSession>(hop, channels_.channel(hop.address, hop.peer), params,
                                         timeout, watchdog_);
}

void SwarmBlockRunner::forward(std::vector<float>& hidden, int batch, int tokens, int position) {
  require(batch == batch_, "swarm session opened for batch {}, got {}", batch_, batch);
  ChainStep step = chain_->step(
      make_wire_tensor(hidden, {batch, tokens, config_.hidden_size}, options_.dtype), position);
  if (tokens == 1) {
    decode_compute_ms_ += step.compute_ms;
    ++decode_steps_;
  }
  hidden = step.output.values();
}

}  // namespace brigade
