// The client's map of the swarm (client/swarm_map.h) against liars: an
// announced speed counts only as far as measurements allow, and pings to
// every new server run at once.

#include "client/swarm_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace brigade {
namespace {

ServerRecord server(const std::string& peer, double ms_per_block) {
  ServerRecord r;
  r.peer = peer;
  r.address = "addr:" + peer;
  r.model = "m";
  r.num_blocks = 2;
  r.start = 0;
  r.end = 2;
  r.compute_ms_per_block = ms_per_block;
  r.cache_tokens_left = 1 << 20;
  return r;
}

RouteNeeds needs() {
  RouteNeeds n;
  n.num_blocks = 2;
  n.cache_tokens_needed = 16;
  return n;
}

SwarmMap map_of(std::vector<ServerRecord> servers) {
  SwarmView view;
  view.servers = std::move(servers);
  return SwarmMap(
      view, needs(), [view] { return view; }, [](const ServerRecord&) { return 1.0; });
}

TEST(SwarmMap, AnUnprovenSpeedCountsNoFasterThanTheFastestMeasuredOne) {
  SwarmMap map = map_of({server("honest", 2), server("liar", 0.0001)});
  // Nothing measured yet: the announcement is all there is.
  EXPECT_EQ("liar", map.plan(0, 2, {}).front().peer);
  map.observe("honest", 2);
  // The liar now counts as a hair slower than the honest server measured.
  const auto route = map.plan(0, 2, {});
  EXPECT_EQ("honest", route.front().peer);
  EXPECT_DOUBLE_EQ(2, route.front().compute_ms_per_block);
}

TEST(SwarmMap, AMeasuredSpeedSlowerThanAnnouncedWins) {
  SwarmMap map = map_of({server("boaster", 1), server("steady", 3)});
  map.observe("boaster", 10);  // announced 1, measured 10
  map.observe("steady", 3);
  const auto route = map.plan(0, 2, {});
  EXPECT_EQ("steady", route.front().peer);
  // Its hops get deadlines for the speed it showed, not the one it claimed.
  EXPECT_DOUBLE_EQ(10, map.plan(0, 2, {"steady"}).front().compute_ms_per_block);
}

TEST(SwarmMap, PingsEveryNewServerAtOnce) {
  std::vector<ServerRecord> servers;
  for (int i = 0; i < 8; ++i) servers.push_back(server("s" + std::to_string(i), 1));
  SwarmView view;
  view.servers = servers;
  std::atomic<int> running{0}, most{0};
  SwarmMap map(
      view, needs(), [view] { return view; },
      [&](const ServerRecord&) {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        // Each ping waits until all have started (or a second passes), which
        // only pings run at once can do.
        for (int i = 0; i < 100 && most.load() < 8; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        --running;
        return 1.0;
      });
  EXPECT_EQ(8, most.load());
}

}  // namespace
}  // namespace brigade
