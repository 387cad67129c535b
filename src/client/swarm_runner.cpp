#include "client/swarm_runner.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "net/identity.h"
#include "util/error.h"

namespace brigade {

SwarmBlockRunner::SwarmBlockRunner(const ModelConfig& config, ExpectedModel model,
                                   SwarmOptions options, int batch, int max_length)
    : config_(config),
      model_(std::move(model)),
      options_(std::move(options)),
      batch_(batch),
      max_length_(max_length),
      channels_(options_.connect_via),
      bans_(options_.ban_base) {
  require(!options_.initial_peers.empty(), "no --initial-peers given: cannot find the swarm");
  require(model_.num_blocks == config_.num_hidden_layers, "model {} has {} blocks, its config {}",
          model_.id, model_.num_blocks, config_.num_hidden_layers);
  dht_ = std::make_unique<DhtNode>(HostPort{options_.dht_host, 0}, options_.initial_peers);
  dht_->wait_for_peers(
      std::min<std::chrono::milliseconds>(options_.wait_for_swarm, std::chrono::seconds(5)));
  view_ = wait_for_full_swarm(*dht_, model_, options_.wait_for_swarm);
  weight_format_ = choose_weight_format(view_.servers, options_.formats, config_.num_hidden_layers);
  costs_.push = options_.push;
  measure_new_rtts();
  // A server may refuse the session (cache full, shutting down, faulty): ban
  // it and plan the route again without it.
  std::string refused;  // the last refusal, for the error when no route is left
  for (int attempt = 1;; ++attempt) {
    try {
      route_ = plan(0, config_.num_hidden_layers);
    } catch (const Error& e) {
      if (refused.empty()) throw;
      fail("{} (after {})", e.what(), refused);
    }
    hops_.clear();
    try {
      for (const auto& hop : route_) hops_.push_back({hop, open_session(hop)});
      break;
    } catch (const HopFailure& failure) {
      require(attempt < options_.max_recoveries,
              "cannot open a route after {} attempts; last failure: {}", attempt, failure.what());
      spdlog::warn("{}; routing around it", failure.what());
      refused = failure.what();
      bans_.ban(failure.peer, failure.kind());
    }
  }
  send_routes();
}

void SwarmBlockRunner::measure_new_rtts() {
  for (const auto& server : view_.servers) {
    if (server.state == "online" && !costs_.client_rtt_ms.count(server.peer)) {
      costs_.client_rtt_ms[server.peer] = channels_.ping_ms(server.address);
    }
  }
}

void SwarmBlockRunner::send_routes() {
  if (!options_.push) return;
  for (size_t i = 0; i < hops_.size(); ++i) {
    std::vector<rpc::Hop> next;
    for (size_t j = i + 1; j < hops_.size(); ++j) {
      rpc::Hop hop;
      hop.set_peer(hops_[j].route.peer);
      auto via = options_.push_via.find(hops_[j].route.address);
      hop.set_address(via == options_.push_via.end() ? hops_[j].route.address : via->second);
      hop.set_session_id(hops_[j].session->session_id());
      hop.set_start(hops_[j].route.start);
      hop.set_end(hops_[j].route.end);
      next.push_back(hop);
    }
    hops_[i].session->send_route(next, i == 0 ? "" : hops_[i - 1].route.peer);
  }
}

std::vector<size_t> SwarmBlockRunner::false_pushers(int64_t step) {
  std::vector<size_t> out;
  for (size_t i = 1; i < hops_.size(); ++i) {
    const auto results = hops_[i].session->results_of(step);
    bool corrected_for_upstream = false;
    std::string pushed_input;
    for (const auto& r : results) {
      if (r.meta.from_push()) pushed_input = r.meta.input_digest();
      if (r.meta.corrected() && r.meta.bad_push_peer() == hops_[i - 1].route.peer) {
        corrected_for_upstream = true;
      }
    }
    if (!corrected_for_upstream) continue;
    // The upstream is to blame only if it pushed something it never signed
    // to us: an honest server whose own input was corrected pushed its
    // then-output, which we saw.
    bool signed_it = false;
    for (const auto& r : hops_[i - 1].session->results_of(step)) {
      if (r.meta.output_digest() == pushed_input) signed_it = true;
    }
    if (!signed_it) out.push_back(i - 1);
  }
  return out;
}

SwarmBlockRunner::~SwarmBlockRunner() = default;

std::vector<RouteHop> SwarmBlockRunner::plan(int first_block, int end_block) {
  RouteRequest request;
  request.first_block = first_block;
  request.num_blocks = end_block;
  request.cache_tokens_needed = int64_t{batch_} * max_length_;
  request.excluded = bans_.excluded();
  request.weight_format = weight_format_;
  auto route = plan_route(view_.servers, request, costs_);
  // A route may end past end_block only if a server's span does; trim it.
  std::vector<RouteHop> out;
  for (auto hop : route) {
    if (hop.start >= end_block) break;
    hop.end = std::min(hop.end, end_block);
    out.push_back(hop);
  }
  return out;
}

std::unique_ptr<RemoteSession> SwarmBlockRunner::open_session(const RouteHop& hop) {
  SessionParams params;
  params.batch = batch_;
  params.max_length = max_length_;
  params.hidden_size = config_.hidden_size;
  params.dtype = options_.dtype;
  params.step_timeout = options_.step_timeout;
  return std::make_unique<RemoteSession>(hop, channels_.channel(hop.address), params);
}

WireTensor SwarmBlockRunner::run_hop(ActiveHop& hop, int64_t step, int position,
                                     const WireTensor& input) {
  hop.session->send_step(step, position, input);
  ReceivedStep result = hop.session->wait_result_for_input(step, digest(input.bytes));
  if (result.output.shape != input.shape) {
    throw HopFailure(hop.route.peer, ErrorKind::kMisbehaved,
                     fmt::format("step {}: output shape differs from input", step));
  }
  compute_ms_ += result.meta.compute_ms();
  return std::move(result.output);
}

WireTensor SwarmBlockRunner::run_step(WireTensor x, int position, PastStep& record) {
  // Relay and push run the same loop: the client sends each hop its own copy
  // of the input as soon as it has it. In push mode the server has usually
  // computed the step from the upstream's push already, and its answer is
  // waiting; the copy then only confirms it.
  const int64_t step = next_step_;
  compute_ms_ = 0;
  size_t i = 0;
  int recoveries = 0;
  while (i < hops_.size()) {
    record.inputs[hops_[i].route.start] = x;
    try {
      x = run_hop(hops_[i], step, position, x);
      ++i;
    } catch (const HopFailure& failure) {
      require(recoveries < options_.max_recoveries,
              "giving up after {} recoveries in one step; last failure: {}", recoveries,
              failure.what());
      ++recoveries;
      recover(i, failure);
    }
  }
  return x;
}

void SwarmBlockRunner::forward(std::vector<float>& hidden, int batch, int tokens, int position) {
  require(batch == batch_, "swarm session opened for batch {}, got {}", batch_, batch);
  WireTensor x = make_wire_tensor(hidden, {batch, tokens, config_.hidden_size}, options_.dtype);
  PastStep record{position, {}};
  x = run_step(std::move(x), position, record);
  history_.push_back(std::move(record));
  const int64_t step = next_step_++;
  if (tokens == 1) {
    decode_compute_ms_ += compute_ms_;
    ++decode_steps_;
  }
  hidden = x.values();
  if (options_.push) {
    // Our tokens are right (every hop's input was checked); now drop the
    // servers that pushed false data, highest index first so that indices
    // of the others stay valid.
    auto culprits = false_pushers(step);
    for (auto it = culprits.rbegin(); it != culprits.rend(); ++it) {
      recover(*it, HopFailure(hops_[*it].route.peer, ErrorKind::kMisbehaved,
                              "pushed data that differs from its answer"));
    }
  }
}

void SwarmBlockRunner::recover(size_t index, const HopFailure& failure) {
  const auto began = std::chrono::steady_clock::now();
  const RouteHop failed = hops_[index].route;
  spdlog::warn("server {} failed on blocks [{}, {}): {}; re-routing", failed.peer.substr(0, 12),
               failed.start, failed.end, failure.reason);
  bans_.ban(failure.peer, failure.kind());
  hops_[index].session.reset();
  RecoveryEvent event;
  event.failed_peer = failure.peer;
  event.reason = failure.reason;

  for (int attempt = 0;; ++attempt) {
    require(attempt < options_.max_recoveries,
            "cannot replace server {} for blocks [{}, {}) after {} attempts", failed.peer,
            failed.start, failed.end, attempt);
    // A fresh look at the swarm: servers may have joined since the start.
    SwarmView fresh = read_swarm(*dht_, model_);
    if (!fresh.servers.empty()) view_ = std::move(fresh);
    measure_new_rtts();
    std::vector<RouteHop> replacement;
    try {
      replacement = plan(failed.start, failed.end);
    } catch (const Error& e) {
      // Nobody else serves these blocks yet: wait for the swarm to heal.
      spdlog::warn("no replacement yet: {}", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    std::vector<ActiveHop> fresh_hops;
    int replayed = 0;
    try {
      for (const auto& hop : replacement) fresh_hops.push_back({hop, open_session(hop)});
      // Replay every past step exactly as it ran (same positions and token
      // counts), so the new caches are bitwise what the old ones held.
      for (size_t s = 0; s < history_.size(); ++s) {
        PastStep& past = history_[s];
        WireTensor x = past.inputs.at(failed.start);
        for (auto& hop : fresh_hops) {
          past.inputs[hop.route.start] = x;
          x = run_hop(hop, static_cast<int64_t>(s), past.position, x);
        }
        replayed += static_cast<int>(x.shape[1]);
      }
    } catch (const HopFailure& again) {
      spdlog::warn("replacement {} failed too: {}", again.peer.substr(0, 12), again.reason);
      bans_.ban(again.peer, again.kind());
      continue;
    }
    hops_.erase(hops_.begin() + static_cast<long>(index));
    hops_.insert(hops_.begin() + static_cast<long>(index),
                 std::make_move_iterator(fresh_hops.begin()),
                 std::make_move_iterator(fresh_hops.end()));
    route_.clear();
    for (const auto& hop : hops_) route_.push_back(hop.route);
    send_routes();
    event.replacement = replacement;
    event.replayed_tokens = replayed;
    event.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
    recoveries_.push_back(event);
    if (on_recovery) on_recovery(event);
    return;
  }
}

}  // namespace brigade
