// plan_route: which chain of servers a session runs through. Pure function
// of the announced records and the measured costs, so every rule is tested
// here on hand-made records.

#include "client/route.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "util/error.h"

namespace brigade {
namespace {

ServerRecord server(const std::string& peer, int start, int end, double ms_per_block = 1.0,
                    int num_blocks = 6) {
  ServerRecord r;
  r.peer = peer;
  r.public_key = "key-" + peer;
  r.address = "127.0.0.1:" + std::to_string(1000 + static_cast<int>(peer.size()) * 7 + start);
  r.model = "m";
  r.num_blocks = num_blocks;
  r.start = start;
  r.end = end;
  r.compute_ms_per_block = ms_per_block;
  r.cache_tokens_left = 1 << 20;
  return r;
}

RouteRequest blocks(int num_blocks, int first_block = 0) {
  RouteRequest r;
  r.num_blocks = num_blocks;
  r.first_block = first_block;
  return r;
}

// "peer[start,end) ..." for readable failure messages and compact checks.
std::string describe(const std::vector<RouteHop>& route) {
  std::string out;
  for (const auto& hop : route) {
    if (!out.empty()) out += " ";
    out += hop.peer + "[" + std::to_string(hop.start) + "," + std::to_string(hop.end) + ")";
  }
  return out;
}

// Every hop lies inside its server's span and the hops tile [first, n) exactly.
void expect_tiles(const std::vector<RouteHop>& route, const std::vector<ServerRecord>& servers,
                  int first, int n) {
  ASSERT_FALSE(route.empty());
  EXPECT_EQ(route.front().start, first) << describe(route);
  EXPECT_EQ(route.back().end, n) << describe(route);
  for (size_t i = 0; i < route.size(); ++i) {
    EXPECT_LT(route[i].start, route[i].end) << describe(route);
    if (i > 0) {
      EXPECT_EQ(route[i].start, route[i - 1].end) << describe(route);
    }
    const ServerRecord* s = nullptr;
    for (const auto& candidate : servers) {
      if (candidate.peer == route[i].peer) s = &candidate;
    }
    ASSERT_NE(s, nullptr) << route[i].peer;
    EXPECT_GE(route[i].start, s->start) << describe(route);
    EXPECT_LE(route[i].end, s->end) << describe(route);
    EXPECT_EQ(route[i].address, s->address);
    EXPECT_EQ(route[i].public_key, s->public_key);
  }
}

TEST(Route, TilesEvenSpansInOrder) {
  const std::vector<ServerRecord> servers = {server("c", 4, 6), server("a", 0, 2),
                                             server("b", 2, 4)};
  const auto route = plan_route(servers, blocks(6), {});
  EXPECT_EQ(describe(route), "a[0,2) b[2,4) c[4,6)");
  expect_tiles(route, servers, 0, 6);
}

TEST(Route, OneServerWithEveryBlockIsOneHop) {
  const std::vector<ServerRecord> servers = {server("a", 0, 6)};
  EXPECT_EQ(describe(plan_route(servers, blocks(6), {})), "a[0,6)");
}

TEST(Route, PrefersFasterServers) {
  const std::vector<ServerRecord> servers = {server("slow", 0, 6, 10.0), server("fast", 0, 6, 1.0)};
  EXPECT_EQ(describe(plan_route(servers, blocks(6), {})), "fast[0,6)");
}

TEST(Route, PrefersServersCloserToTheClient) {
  const std::vector<ServerRecord> servers = {server("far", 0, 6), server("near", 0, 6)};
  RouteCosts costs;
  costs.client_rtt_ms = {{"far", 80}, {"near", 5}};
  EXPECT_EQ(describe(plan_route(servers, blocks(6), costs)), "near[0,6)");
  // Unmeasured peers cost the default RTT.
  costs.client_rtt_ms = {{"far", 80}};
  costs.default_rtt_ms = 100;
  EXPECT_EQ(describe(plan_route(servers, blocks(6), costs)), "far[0,6)");
}

TEST(Route, FewerHopsWinWhenComputeIsEqual) {
  // Relay mode pays a client round trip per hop: one server beats three.
  const std::vector<ServerRecord> servers = {server("a", 0, 2), server("b", 2, 4),
                                             server("c", 4, 6), server("all", 0, 6)};
  EXPECT_EQ(describe(plan_route(servers, blocks(6), {})), "all[0,6)");
}

TEST(Route, OverlappingSpansUseSubSpans) {
  // a [0,4) and b [2,6) overlap on [2,4): the faster one runs the overlap,
  // the other only the part of its span that is left.
  {
    const std::vector<ServerRecord> servers = {server("a", 0, 4, 1.0), server("b", 2, 6, 5.0)};
    const auto route = plan_route(servers, blocks(6), {});
    EXPECT_EQ(describe(route), "a[0,4) b[4,6)");
    expect_tiles(route, servers, 0, 6);
  }
  {
    const std::vector<ServerRecord> servers = {server("a", 0, 4, 5.0), server("b", 2, 6, 1.0)};
    const auto route = plan_route(servers, blocks(6), {});
    EXPECT_EQ(describe(route), "a[0,2) b[2,6)");
    expect_tiles(route, servers, 0, 6);
  }
  {
    // Three-way overlap: whatever the split, the hops tile the model.
    const std::vector<ServerRecord> servers = {server("a", 0, 4), server("b", 2, 6),
                                               server("c", 3, 6)};
    const auto route = plan_route(servers, blocks(6), {});
    ASSERT_EQ(route.size(), 2u) << describe(route);
    expect_tiles(route, servers, 0, 6);
  }
}

TEST(Route, SkipsExcludedPeers) {
  const std::vector<ServerRecord> servers = {server("best", 0, 6, 1.0), server("a", 0, 3, 2.0),
                                             server("b", 3, 6, 2.0)};
  RouteRequest request = blocks(6);
  EXPECT_EQ(describe(plan_route(servers, request, {})), "best[0,6)");
  request.excluded = {"best"};
  EXPECT_EQ(describe(plan_route(servers, request, {})), "a[0,3) b[3,6)");
  request.excluded = {"best", "b"};
  try {
    plan_route(servers, request, {});
    FAIL() << "route without b";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[3, 4, 5]"), std::string::npos) << message;
    EXPECT_NE(message.find("b (f32, blocks [3, 6)) at 127.0.0.1:1010: banned or suspected"),
              std::string::npos)
        << message;
  }
}

TEST(Route, SkipsOfflineServers) {
  std::vector<ServerRecord> servers = {server("gone", 0, 6, 0.1), server("a", 0, 6, 3.0)};
  servers[0].state = ServerState::kOffline;
  EXPECT_EQ(describe(plan_route(servers, blocks(6), {})), "a[0,6)");
}

TEST(Route, SkipsServersWithoutEnoughCache) {
  std::vector<ServerRecord> servers = {server("small", 0, 6, 0.1), server("big", 0, 6, 3.0)};
  servers[0].cache_tokens_left = 100;
  servers[1].cache_tokens_left = 1000;
  RouteRequest request = blocks(6);
  request.cache_tokens_needed = 100;  // exactly enough still fits
  EXPECT_EQ(describe(plan_route(servers, request, {})), "small[0,6)");
  request.cache_tokens_needed = 101;
  EXPECT_EQ(describe(plan_route(servers, request, {})), "big[0,6)");
  request.cache_tokens_needed = 1001;
  try {
    plan_route(servers, request, {});
    FAIL() << "no server has room";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("small (f32, blocks [0, 6)) at 127.0.0.1:1035: cache too small for this "
                           "request: 1001 tokens needed, 100 left"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("big (f32, blocks [0, 6)) at 127.0.0.1:1021: cache too small for this "
                           "request: 1001 tokens needed, 1000 left"),
              std::string::npos)
        << message;
  }
}

TEST(Route, SkipsServersThatDoNotAnswerPings) {
  // The client measured no RTT to "dead" (its record is still in the DHT):
  // it is not routed through, and a hole it leaves is named.
  const double never = std::numeric_limits<double>::infinity();
  const std::vector<ServerRecord> servers = {server("dead", 0, 6, 0.1), server("a", 0, 3),
                                             server("b", 3, 6)};
  RouteCosts costs;
  costs.client_rtt_ms = {{"dead", never}, {"a", 10}, {"b", 10}};
  EXPECT_EQ(describe(plan_route(servers, blocks(6), costs)), "a[0,3) b[3,6)");
  costs.client_rtt_ms["b"] = never;
  try {
    plan_route(servers, blocks(6), costs);
    FAIL() << "b does not answer";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("blocks [3, 4, 5]"), std::string::npos) << message;
    EXPECT_NE(message.find("b (f32, blocks [3, 6)) at 127.0.0.1:1010: unreachable"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("dead (f32, blocks [0, 6)) at 127.0.0.1:1028: unreachable"),
              std::string::npos)
        << message;
  }
}

TEST(Route, ErrorNamesTheMissingBlocks) {
  const std::vector<ServerRecord> servers = {server("a", 0, 2), server("c", 4, 6)};
  try {
    plan_route(servers, blocks(6), {});
    FAIL() << "a route with a hole";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("blocks [2, 3]"), std::string::npos) << message;
  }
  try {
    plan_route({}, blocks(3), {});
    FAIL() << "a route without servers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[0, 1, 2]; no server announces them"), std::string::npos)
        << e.what();
  }
}

TEST(Route, StartsAtFirstBlock) {
  // Re-routing the tail of a model after a failure: blocks [3, 6) only.
  const std::vector<ServerRecord> servers = {server("a", 0, 4), server("b", 4, 6),
                                             server("x", 0, 2)};
  const auto route = plan_route(servers, blocks(6, 3), {});
  EXPECT_EQ(describe(route), "a[3,4) b[4,6)");
  expect_tiles(route, servers, 3, 6);
  // A hole before first_block does not matter; one after it does.
  const std::vector<ServerRecord> holes = {server("b", 4, 6)};
  EXPECT_EQ(describe(plan_route(holes, blocks(6, 4), {})), "b[4,6)");
  try {
    plan_route(holes, blocks(6, 3), {});
    FAIL() << "block 3 has no server";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[3]"), std::string::npos) << e.what();
  }
}

TEST(Route, RejectsAnEmptyRange) {
  const std::vector<ServerRecord> servers = {server("a", 0, 6)};
  EXPECT_THROW(plan_route(servers, blocks(6, 6), {}), Error);
  EXPECT_THROW(plan_route(servers, blocks(6, -1), {}), Error);
  EXPECT_THROW(plan_route(servers, blocks(0), {}), Error);
}

TEST(Route, CostIsWhatPlanRouteMinimises) {
  const std::vector<ServerRecord> servers = {server("a", 0, 3, 2.0), server("b", 3, 6, 4.0)};
  RouteCosts costs;
  costs.client_rtt_ms = {{"a", 10}, {"b", 30}};
  const auto route = plan_route(servers, blocks(6), costs);
  // Relay: a round trip per hop plus compute.
  EXPECT_DOUBLE_EQ(route_cost_ms(route, servers, costs), 10 + 3 * 2.0 + 30 + 3 * 4.0);
  costs.push = true;
  // Push: half a client RTT in, (10 + 30) / 4 from a to b (no announced
  // ping), half of b's RTT back out.
  EXPECT_DOUBLE_EQ(route_cost_ms(route, servers, costs), 5 + 6 + (10 + 30) / 4.0 + 12 + 15);
  // A hop through a server that is not in the records has no cost: infinite.
  auto stale = route;
  stale[0].peer = "unknown";
  EXPECT_EQ(route_cost_ms(stale, servers, costs), std::numeric_limits<double>::infinity());
}

TEST(Route, PushPrefersAChainInsideAFamily) {
  // a hands over to b or c. The client reaches c a little faster than b, so
  // relay mode (which pays a client round trip per hop) picks c. b is in a's
  // family and a announces a 2 ms ping to it: in push mode the hop a -> b
  // costs 1 ms instead of (50 + 40) / 4, so push picks b.
  std::vector<ServerRecord> servers = {server("a", 0, 3), server("b", 3, 6), server("c", 3, 6)};
  servers[0].family = servers[1].family = "lan";
  servers[2].family = "elsewhere";
  servers[0].next_rtt_ms = {{"b", 2.0}};
  RouteCosts costs;
  costs.client_rtt_ms = {{"a", 50}, {"b", 50}, {"c", 40}};
  EXPECT_EQ(describe(plan_route(servers, blocks(6), costs)), "a[0,3) c[3,6)");
  costs.push = true;
  const auto route = plan_route(servers, blocks(6), costs);
  EXPECT_EQ(describe(route), "a[0,3) b[3,6)");
  EXPECT_EQ(route[0].family, "lan");
  EXPECT_EQ(route[1].family, "lan");
  EXPECT_DOUBLE_EQ(route_cost_ms(route, servers, costs), 25 + 3 + 1 + 3 + 25);
}

TEST(Route, PushMakesExtraHopsInsideAFamilyCheap) {
  // With push, a chain of three servers on one LAN can beat one slower
  // server: the server-to-server hops cost their announced pings, not
  // client round trips.
  std::vector<ServerRecord> servers = {server("a", 0, 2, 1.0), server("b", 2, 4, 1.0),
                                       server("c", 4, 6, 1.0), server("solo", 0, 6, 4.0)};
  servers[0].next_rtt_ms = {{"b", 1.0}};
  servers[1].next_rtt_ms = {{"c", 1.0}};
  RouteCosts costs;
  costs.default_rtt_ms = 20;
  // Relay: 3 x 20 + 6 = 66 for the chain against 20 + 24 = 44 for solo.
  EXPECT_EQ(describe(plan_route(servers, blocks(6), costs)), "solo[0,6)");
  // Push: 10 + 6 + 0.5 + 0.5 + 10 = 27 for the chain against 10 + 24 + 10 = 44.
  costs.push = true;
  EXPECT_EQ(describe(plan_route(servers, blocks(6), costs)), "a[0,2) b[2,4) c[4,6)");
}

// ---- weight formats: a session routes through one format ----

ServerRecord in_format(ServerRecord r, const std::string& format) {
  r.weight_format = format;
  return r;
}

TEST(Route, RoutesOnlyThroughTheRequestedFormat) {
  // The int8 server is much faster, but the session asked for f32.
  const std::vector<ServerRecord> servers = {server("a", 0, 3), server("b", 3, 6),
                                             in_format(server("q", 0, 6, 0.01), "int8")};
  RouteRequest request = blocks(6);
  request.weight_format = "f32";
  EXPECT_EQ(describe(plan_route(servers, request, {})), "a[0,3) b[3,6)");
  request.weight_format = "int8";
  EXPECT_EQ(describe(plan_route(servers, request, {})), "q[0,6)");
  request.weight_format = "";  // --formats any: the fastest, whatever its format
  EXPECT_EQ(describe(plan_route(servers, request, {})), "q[0,6)");
}

TEST(Route, FormatErrorNamesTheServersLeftOut) {
  const std::vector<ServerRecord> servers = {server("a", 0, 3),
                                             in_format(server("q", 3, 6), "int8")};
  RouteRequest request = blocks(6);
  request.weight_format = "f32";
  try {
    plan_route(servers, request, {});
    FAIL() << "blocks 3-5 have no f32 server";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("blocks [3, 4, 5] of weight format f32"), std::string::npos) << message;
    EXPECT_NE(message.find("q (int8, blocks [3, 6))"), std::string::npos) << message;
    EXPECT_NE(message.find("--formats any"), std::string::npos) << message;
  }
}

TEST(Route, ChoosesTheFormatMostServersAnnounce) {
  const std::vector<ServerRecord> mostly_bf16 = {
      in_format(server("a", 0, 6), "bf16"), in_format(server("b", 0, 3), "bf16"),
      in_format(server("c", 3, 6), "bf16"), server("d", 0, 6)};
  EXPECT_EQ(choose_weight_format(mostly_bf16, "", 6), "bf16");
  // A flag wins; "any" lifts the filter.
  EXPECT_EQ(choose_weight_format(mostly_bf16, "f32", 6), "f32");
  EXPECT_EQ(choose_weight_format(mostly_bf16, "any", 6), "");
  // A format whose servers leave a block uncovered loses to one that covers
  // every block, however many servers it has.
  const std::vector<ServerRecord> partial_int8 = {
      in_format(server("a", 0, 3), "int8"), in_format(server("b", 0, 3), "int8"),
      in_format(server("c", 1, 2), "int8"), server("d", 0, 6)};
  EXPECT_EQ(choose_weight_format(partial_int8, "", 6), "f32");
  // Offline servers do not count; ties go to the smaller name.
  std::vector<ServerRecord> tie = {in_format(server("a", 0, 6), "int8"), server("b", 0, 6),
                                   in_format(server("c", 0, 6), "int8")};
  tie[2].state = ServerState::kOffline;
  EXPECT_EQ(choose_weight_format(tie, "", 6), "f32");
}

}  // namespace
}  // namespace brigade
