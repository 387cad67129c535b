#pragma once
// The client's map of the swarm: the servers of its model as last read from
// the DHT, the weight format it routes through, the round trips it measured
// to them, and route planning over any range of blocks. The chain
// (client/session_chain.h) asks it for a route at the start and for
// replacements after a failure; it never talks to a server itself.
//
// The DHT and the pings come in as functions, so tests build a map from
// hand-made records with made-up round trips.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/route.h"
#include "dht/swarm_directory.h"

namespace brigade {

// What every route of one client session needs of its servers.
struct RouteNeeds {
  int num_blocks = 0;               // routes cover blocks of [0, num_blocks)
  int64_t cache_tokens_needed = 0;  // batch x max_length, on every server
  // `--formats`: "" routes through the format most servers announce, "any"
  // through every format, anything else through that format only
  // (choose_weight_format). Chosen once, from the first view.
  std::string formats;
  bool push = false;  // costs routes for push (client/route.h RouteCosts)
};

class SwarmMap {
 public:
  // A fresh read of the swarm; a view with no servers means the read found
  // nothing (the DHT lost its records for a moment), not an empty swarm.
  using Reader = std::function<SwarmView()>;
  // The client's round trip to a server, in ms; +inf when it does not
  // answer (plan_route then leaves it out). Called from several threads at
  // once (new servers are pinged side by side).
  using Pinger = std::function<double(const ServerRecord& server)>;

  // Chooses the weight format from `initial` and pings its online servers.
  SwarmMap(SwarmView initial, RouteNeeds needs, Reader read, Pinger ping);

  // The cheapest route over blocks [first_block, end_block) through servers
  // not in `excluded`, each hop trimmed to end by end_block. Throws Error
  // naming the blocks no usable server covers.
  std::vector<RouteHop> plan(int first_block, int end_block,
                             const std::set<std::string>& excluded) const;

  // Reads the swarm again (servers may have joined or left since) and pings
  // the servers it has no round trip for yet, and with kUnanswered also
  // those that did not answer before (a loaded server may miss one ping).
  // Keeps the old view when the read finds nothing.
  enum class Reping { kNew, kUnanswered };
  void refresh(Reping reping = Reping::kNew);

  // What the client measured of `peer`: one token through one block took
  // `ms_per_block`. From then on routes and deadlines count the server as
  // no faster than that; and a server not measured yet counts as no faster
  // than the fastest one measured, so that announcing a speed wins nothing
  // until the server has shown it (a liar's 0.0001 ms/block included).
  void observe(const std::string& peer, double ms_per_block);

  int num_blocks() const { return needs_.num_blocks; }
  // The weight format routes go through ("" with --formats any).
  const std::string& weight_format() const { return weight_format_; }
  const SwarmView& view() const { return view_; }

 private:
  // Pings the online servers of view_ whose round trip is not known yet, all
  // at once: a silent address costs one ping timeout, not one each.
  void measure_new_rtts();
  // view_'s servers with the speeds routes count (see observe()).
  std::vector<ServerRecord> credible_servers() const;

  SwarmView view_;
  RouteNeeds needs_;
  Reader read_;
  Pinger ping_;
  std::string weight_format_;
  RouteCosts costs_;
  std::map<std::string, double> measured_ms_per_block_;
};

}  // namespace brigade
