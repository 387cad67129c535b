#include "client/session_chain.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "net/identity.h"

namespace brigade {

SessionChain::SessionChain(SwarmMap& map, BanList& bans, HopSessionFactory open,
                           ChainOptions options)
    : map_(map), bans_(bans), open_(std::move(open)), options_(std::move(options)) {
  // A server may refuse the session (cache full, shutting down, faulty) or
  // not answer: ban or suspect it and plan the route again without it.
  std::string refused;  // the last refusal, for the error when no route is left
  while (true) {
    try {
      route_ = plan(0, map_.num_blocks());
    } catch (const Error& e) {
      if (refused.empty()) throw;
      fail("{} (after {})", e.what(), refused);
    }
    hops_.clear();
    try {
      for (const auto& hop : route_) hops_.push_back(open_hop(hop));
      break;
    } catch (const HopFailure& failure) {
      spdlog::warn("{}; routing around it", failure.what());
      refused = failure.what();
      charge(failure);
    }
  }
  send_routes();
}

std::vector<RouteHop> SessionChain::plan(int first_block, int end_block) {
  try {
    return map_.plan(first_block, end_block, bans_.excluded());
  } catch (const Error& avoiding_suspects) {
    if (!repinged_) {
      // Once per chain, servers that missed their ping (a loaded machine, a
      // slow first handshake) get another before suspects are forgiven or
      // the client gives up.
      repinged_ = true;
      map_.refresh(SwarmMap::Reping::kUnanswered);
      return plan(first_block, end_block);
    }
    try {
      return map_.plan(first_block, end_block, bans_.excluded(BanList::kForgiveSuspects));
    } catch (const Error&) {
      throw avoiding_suspects;
    }
  }
}

std::unique_ptr<HopSession> SessionChain::open_hop(const RouteHop& hop) {
  return open_(hop, options_.deadlines.open_after(hop.rtt_ms, bans_.suspicions(hop.peer)));
}

void SessionChain::charge(const HopFailure& failure) {
  // A stall is what liars do to waste time (a refusal too, which the ban
  // list suspects by its kind); an honest server does it rarely.
  if (failure.stalled) {
    bans_.suspect(failure.peer);
  } else {
    bans_.ban(failure.peer, failure.kind());
  }
  if (++failures_[failure.peer] == 1) return;
  ++repeated_failures_;
  require(repeated_failures_ < options_.max_recoveries,
          "giving up after {} repeated failures of the same servers; last failure: {}",
          repeated_failures_, failure.what());
}

SessionChain::~SessionChain() = default;

void SessionChain::send_routes() {
  if (!options_.push) return;
  for (size_t i = 0; i < hops_.size(); ++i) {
    std::vector<rpc::Hop> next;
    for (size_t j = i + 1; j < hops_.size(); ++j) {
      const RouteHop& to = hops_[j]->hop();
      rpc::Hop hop;
      hop.set_peer(to.peer);
      auto via = options_.push_via.find(to.address);
      hop.set_address(via == options_.push_via.end() ? to.address : via->second);
      hop.set_session_id(hops_[j]->session_id());
      hop.set_start(to.start);
      hop.set_end(to.end);
      next.push_back(hop);
    }
    hops_[i]->send_route(next, i == 0 ? "" : hops_[i - 1]->hop().peer);
  }
}

std::vector<size_t> SessionChain::false_pushers(int64_t step) {
  std::vector<size_t> out;
  for (size_t i = 1; i < hops_.size(); ++i) {
    const auto results = hops_[i]->results_of(step);
    bool corrected_for_upstream = false;
    std::string pushed_input;
    for (const auto& r : results) {
      if (r.meta.from_push()) pushed_input = r.meta.input_digest();
      if (r.meta.corrected() && r.meta.bad_push_peer() == hops_[i - 1]->hop().peer) {
        corrected_for_upstream = true;
      }
    }
    if (!corrected_for_upstream) continue;
    // The upstream is to blame only if it pushed something it never signed
    // to us: an honest server whose own input was corrected pushed its
    // then-output, which we saw.
    bool signed_it = false;
    for (const auto& r : hops_[i - 1]->results_of(step)) {
      if (r.meta.output_digest() == pushed_input) signed_it = true;
    }
    if (!signed_it) out.push_back(i - 1);
  }
  return out;
}

WireTensor SessionChain::run_hop(HopSession& hop, int64_t step, int position,
                                 const WireTensor& input) {
  const RouteHop& to = hop.hop();
  const int blocks = to.end - to.start;
  const int batch = static_cast<int>(input.shape[0]);
  const int tokens = batch * static_cast<int>(input.shape[1]);
  const auto timeout = options_.deadlines.step(to.compute_ms_per_block, blocks, tokens, to.rtt_ms,
                                               bans_.suspicions(to.peer));
  const auto began = std::chrono::steady_clock::now();
  hop.send_step(step, position, input);
  ReceivedStep result = hop.wait_result_for_input(step, digest(input.bytes), timeout);
  if (result.output.shape != input.shape) {
    throw HopFailure(to.peer, ErrorKind::kMisbehaved,
                     fmt::format("step {}: output shape differs from input", step));
  }
  // A decode step the server computed after our copy came: its time is the
  // server's speed. (One run from a push may have been ready before.)
  if (input.shape[1] == 1 && blocks > 0 && !result.meta.from_push()) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
    map_.observe(to.peer, std::max(0.0, ms - to.rtt_ms) / (blocks * batch));
  }
  step_compute_ms_ += result.meta.compute_ms();
  return std::move(result.output);
}

ChainStep SessionChain::step(WireTensor x, int position) {
  // Relay and push run the same loop: the client sends each hop its own copy
  // of the input as soon as it has it. In push mode the server has usually
  // computed the step from the upstream's push already, and its answer is
  // waiting; the copy then only confirms it.
  const auto step_id = static_cast<int64_t>(history_.size());
  PastStep record{position, {}};
  step_compute_ms_ = 0;
  size_t i = 0;
  while (i < hops_.size()) {
    record.inputs[hops_[i]->hop().start] = x;
    try {
      x = run_hop(*hops_[i], step_id, position, x);
      ++i;
    } catch (const HopFailure& failure) {
      recover(i, failure);
    }
  }
  history_.push_back(std::move(record));
  ChainStep out{std::move(x), step_compute_ms_};
  if (options_.push) {
    // Our output is right (every hop's input was checked); now drop the
    // servers that pushed false data, highest index first so that indices
    // of the others stay valid.
    auto culprits = false_pushers(step_id);
    for (auto it = culprits.rbegin(); it != culprits.rend(); ++it) {
      recover(*it, HopFailure(hops_[*it]->hop().peer, ErrorKind::kMisbehaved,
                              "pushed data that differs from its answer"));
    }
  }
  return out;
}

void SessionChain::replay(int first_block, std::vector<std::unique_ptr<HopSession>>& fresh_hops,
                          RecoveryEvent* event) {
  event->replayed_tokens = 0;
  event->replay_steps = 0;
  const double compute_before = step_compute_ms_;
  for (size_t begin = 0; begin < history_.size();) {
    // A run of steps, each starting where the one before ended, replays as
    // one step under the id of its last (a rollback starts the next run):
    // the engine's prefill equals its steps bitwise, so the new caches are
    // the lost ones.
    size_t end = begin + 1;
    auto end_of = [&](size_t s) {
      return history_[s].position + history_[s].inputs.at(first_block).shape[1];
    };
    while (end < history_.size() && history_[end].position == end_of(end - 1)) ++end;
    std::vector<WireTensor> parts;
    for (size_t s = begin; s < end; ++s) parts.push_back(history_[s].inputs.at(first_block));
    const auto last_id = static_cast<int64_t>(end - 1);
    const int position = history_[begin].position;
    WireTensor x = concat_tokens(parts);
    for (auto& hop : fresh_hops) {
      // Each past step's input at this block boundary, for later replays.
      for (size_t s = begin, at = 0; s < end; at += parts[s - begin].shape[1], ++s) {
        history_[s].inputs[hop->hop().start] =
            slice_tokens(x, static_cast<int64_t>(at), parts[s - begin].shape[1]);
      }
      x = run_hop(*hop, last_id, position, x);
    }
    event->replayed_tokens += static_cast<int>(x.shape[1]);
    ++event->replay_steps;
    begin = end;
  }
  event->replay_compute_ms = step_compute_ms_ - compute_before;
}

void SessionChain::recover(size_t index, const HopFailure& failure) {
  const auto began = std::chrono::steady_clock::now();
  const RouteHop failed = hops_[index]->hop();
  spdlog::warn("server {} failed on blocks [{}, {}): {}; re-routing", failed.peer.substr(0, 12),
               failed.start, failed.end, failure.reason);
  charge(failure);
  hops_[index].reset();
  RecoveryEvent event;
  event.failed_peer = failure.peer;
  event.reason = failure.reason;

  for (int waits = 0;;) {
    // A fresh look at the swarm: servers may have joined since the start.
    map_.refresh();
    std::vector<RouteHop> replacement;
    try {
      replacement = plan(failed.start, failed.end);
    } catch (const Error& e) {
      // Nobody else serves these blocks yet: wait for the swarm to heal.
      require(++waits < options_.max_recoveries,
              "cannot replace server {} for blocks [{}, {}) after {} attempts: {}", failed.peer,
              failed.start, failed.end, waits, e.what());
      spdlog::warn("no replacement yet: {}", e.what());
      std::this_thread::sleep_for(options_.replan_wait);
      continue;
    }
    std::vector<std::unique_ptr<HopSession>> fresh_hops;
    try {
      for (const auto& hop : replacement) fresh_hops.push_back(open_hop(hop));
      replay(failed.start, fresh_hops, &event);
    } catch (const HopFailure& again) {
      spdlog::warn("replacement {} failed too: {}", again.peer.substr(0, 12), again.reason);
      charge(again);
      continue;
    }
    hops_.erase(hops_.begin() + static_cast<long>(index));
    hops_.insert(hops_.begin() + static_cast<long>(index),
                 std::make_move_iterator(fresh_hops.begin()),
                 std::make_move_iterator(fresh_hops.end()));
    route_.clear();
    for (const auto& hop : hops_) route_.push_back(hop->hop());
    send_routes();
    event.replacement = replacement;
    event.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
    recoveries_.push_back(event);
    if (on_recovery) on_recovery(event);
    return;
  }
}

}  // namespace brigade
