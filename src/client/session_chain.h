#pragma once
// A client's inference session across the swarm: one hop session per span of
// the route, the history of every step's inputs at every block boundary, and
// what keeps the chain whole when a server fails. On a failure (stream error,
// stall, invalid answer, refused session) the chain bans the peer for as long
// as the failure's kind says (client/ban_list.h), plans a route over the
// failed span alone (client/swarm_map.h), opens sessions there and replays
// the history into them as one step (one per contiguous run of steps), so
// that the outputs equal an uninterrupted run's. In
// push mode it also replaces a server that pushed data it never signed to the
// client (DESIGN.md, "Blame needs evidence").
//
// The chain never opens a connection itself: its hop sessions come from a
// HopSessionFactory (client/hop_session.h), gRPC ones in SwarmBlockRunner,
// fakes in tests. Not thread-safe: one generation drives it.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/ban_list.h"
#include "client/deadlines.h"
#include "client/hop_session.h"
#include "client/swarm_map.h"

namespace brigade {

// How many failures a chain absorbs (`SwarmOptions::max_recoveries`): a
// peer's first failure is not counted, for it cannot fail that way again
// soon (client/ban_list.h), so that twenty hostile identities cost twenty
// quick failures and not the session; each further failure of a peer that
// failed before is. Also how many times a replacement is looked for while no
// server can take over a failed span.
inline constexpr int kDefaultMaxRecoveries = 16;

struct ChainOptions {
  // Servers hand their outputs to the next hop directly; the chain tells
  // each hop its successors and its upstream (RouteUpdate), and blames false
  // pushers after every step.
  bool push = false;
  // The address servers should dial to push to a server, when it differs
  // from the announced one (`--push-via`).
  std::map<std::string, std::string> push_via;
  int max_recoveries = kDefaultMaxRecoveries;
  // How long to wait for each server (client/deadlines.h).
  Deadlines deadlines;
  // How long to wait before reading the swarm again when no server can
  // replace a failed one yet (one may be joining). Tests set 0.
  std::chrono::milliseconds replan_wait{500};
};

// What one recovery did, for `brigade generate --jsonl` and the tests.
struct RecoveryEvent {
  std::string failed_peer;
  std::string reason;
  std::vector<RouteHop> replacement;
  int replayed_tokens = 0;
  // Steps sent to each replacement server: one per contiguous run of the
  // history (one for a plain generation), however many steps it held.
  int replay_steps = 0;
  double replay_compute_ms = 0;  // the replacement servers' compute for the replay
  double ms = 0;
};

// The outcome of one step through the whole chain.
struct ChainStep {
  WireTensor output;  // [batch, tokens, hidden] after the last block
  // The servers' compute time for this step, summed over hops (replays run
  // while recovering inside the step included).
  double compute_ms = 0;
};

class SessionChain {
 public:
  // Plans a route over every block and opens its sessions; a server that
  // refuses is banned and the route planned again without it. Throws Error
  // when no route is left or after options.max_recoveries attempts.
  // `map` and `bans` must outlive the chain.
  SessionChain(SwarmMap& map, BanList& bans, HopSessionFactory open, ChainOptions options);
  ~SessionChain();
  SessionChain(const SessionChain&) = delete;
  SessionChain& operator=(const SessionChain&) = delete;

  // Runs the next step, [batch, tokens, hidden] at `position`, through every
  // hop, checking that each hop computed from the input the client gave it,
  // and recovering from failures on the way. Throws Error after
  // options.max_recoveries recoveries in the step, or when a failed server
  // cannot be replaced.
  ChainStep step(WireTensor input, int position);

  const std::vector<RouteHop>& route() const { return route_; }
  const std::vector<RecoveryEvent>& recoveries() const { return recoveries_; }
  // Called after each recovery, with what it did.
  std::function<void(const RecoveryEvent&)> on_recovery;

 private:
  // The inputs of one step at every block boundary the route had then.
  struct PastStep {
    int position = 0;
    std::map<int, WireTensor> inputs;  // by first block of the hop
  };

  // The cheapest route over [first_block, end_block) avoiding banned and
  // suspected peers (the first time none is left, after pinging again the
  // servers that did not answer); when none is left, one through suspects
  // (they may only have been slow). Throws the first Error when neither
  // exists.
  std::vector<RouteHop> plan(int first_block, int end_block);
  // Opens a session over `hop` with the open's deadline for that peer.
  std::unique_ptr<HopSession> open_hop(const RouteHop& hop);
  // Bans or suspects the failed peer as its failure says and charges the
  // failure to the chain's budget (kDefaultMaxRecoveries). Throws Error,
  // naming `failure`, when the budget is spent.
  void charge(const HopFailure& failure);
  // Runs one step through one hop, checking the answer's input and shape,
  // within the hop's deadline; measures the server's speed on decode steps.
  WireTensor run_hop(HopSession& hop, int64_t step, int position, const WireTensor& input);
  // Replaces hops_[index] with a fresh route over its span and replays history.
  void recover(size_t index, const HopFailure& failure);
  // Runs the history, at block `first_block` on, through `fresh_hops` (a
  // replacement route), one step per contiguous run of steps, and records
  // every past step's input at the new block boundaries; fills `event`'s
  // replay counts. Throws HopFailure when a fresh hop fails.
  void replay(int first_block, std::vector<std::unique_ptr<HopSession>>& fresh_hops,
              RecoveryEvent* event);
  // Push mode: tells every hop where to push and whom to take pushes from.
  void send_routes();
  // Push mode: the hops that pushed data they never signed to us in `step`.
  std::vector<size_t> false_pushers(int64_t step);

  SwarmMap& map_;
  BanList& bans_;
  HopSessionFactory open_;
  ChainOptions options_;
  std::vector<std::unique_ptr<HopSession>> hops_;
  std::vector<RouteHop> route_;    // hops_' spans, for route()
  std::vector<PastStep> history_;  // step id = index
  double step_compute_ms_ = 0;     // of the step running now
  std::vector<RecoveryEvent> recoveries_;
  std::map<std::string, int> failures_;  // by peer, in this chain
  int repeated_failures_ = 0;            // failures of peers that had failed before
  bool repinged_ = false;                // plan() pinged the unanswered servers again
};

}  // namespace brigade
