// Server records: signing and every way a record read from the DHT can be
// bad; the DHT node itself between two real nodes on 127.0.0.1; reading the
// swarm back (expiry); and where a --num-blocks server chooses to sit.

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "dht/dht_node.h"
#include "dht/sample_records.h"
#include "dht/server_record.h"
#include "dht/swarm_directory.h"
#include "server/block_selection.h"
#include "util/error.h"

namespace brigade {
namespace {

using namespace std::chrono_literals;

// Expects open_record to refuse `bytes` with a reason containing `needle`.
void expect_rejected(const std::string& bytes, const std::string& model, int block,
                     const std::string& needle) {
  std::string why;
  EXPECT_FALSE(open_record(bytes, model, block, &why).has_value()) << bytes;
  EXPECT_NE(why.find(needle), std::string::npos) << "reason: " << why;
}

TEST(Record, SealAndOpenRoundTrip) {
  const Identity identity = Identity::generate();
  const ServerRecord in = sample_record();
  const std::string bytes = seal_record(in, identity);
  std::string why;
  const auto out = open_record(bytes, "tiny-llama", 2, &why);
  ASSERT_TRUE(out.has_value()) << why;
  EXPECT_EQ(out->peer, identity.peer_id());
  EXPECT_EQ(out->public_key, identity.public_key());
  EXPECT_EQ(out->model, in.model);
  EXPECT_EQ(out->num_blocks, in.num_blocks);
  EXPECT_EQ(out->block, in.block);
  EXPECT_EQ(out->start, in.start);
  EXPECT_EQ(out->end, in.end);
  EXPECT_EQ(out->address, in.address);
  EXPECT_EQ(out->state, in.state);
  EXPECT_DOUBLE_EQ(out->compute_ms_per_block, in.compute_ms_per_block);
  EXPECT_EQ(out->cache_tokens_left, in.cache_tokens_left);
  EXPECT_EQ(out->family, in.family);
  EXPECT_EQ(out->name, in.name);
  EXPECT_EQ(out->version, in.version);
  EXPECT_EQ(out->next_rtt_ms, in.next_rtt_ms);
  EXPECT_EQ(out->model_name, in.model_name);
  EXPECT_EQ(out->block_digests, in.block_digests);
  EXPECT_EQ(out->weight_format, in.weight_format);
  EXPECT_EQ(out->numerics, in.numerics);
  EXPECT_DOUBLE_EQ(out->expires_at, in.expires_at);
  // An empty model accepts any model (the directory reads every model).
  EXPECT_TRUE(open_record(bytes, "", 2).has_value());
}

TEST(Record, DirectoryRecordsOpenUnderTheDirectoryKey) {
  const Identity identity = Identity::generate();
  const std::string bytes = seal_record(sample_record(kDirectoryBlock), identity);
  EXPECT_TRUE(open_record(bytes, "", kDirectoryBlock).has_value());
  expect_rejected(bytes, "", 2, "another block's key");
}

TEST(Record, RejectsATamperedField) {
  const Identity identity = Identity::generate();
  auto envelope = nlohmann::json::parse(seal_record(sample_record(), identity));
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"address", "10.0.0.66:5555"},
                                                           {"cache_tokens_left", 1 << 30},
                                                           {"end", 6},
                                                           {"state", "offline"},
                                                           {"expires_at", unix_now() + 1e6}}) {
    auto tampered = envelope;
    tampered["record"][field] = value;
    expect_rejected(tampered.dump(), "tiny-llama", 2, "bad signature");
  }
  auto bad_signature = envelope;
  std::string sig = bad_signature["signature"];
  sig[0] = sig[0] == '0' ? '1' : '0';
  bad_signature["signature"] = sig;
  expect_rejected(bad_signature.dump(), "tiny-llama", 2, "bad signature");
}

TEST(Record, RejectsAnotherKeyOrAPeerIdThatIsNotTheKeys) {
  const Identity owner = Identity::generate();
  const Identity mallory = Identity::generate();
  // Mallory swaps in her key: the owner's signature no longer verifies.
  auto envelope = nlohmann::json::parse(seal_record(sample_record(), owner));
  envelope["public_key"] = to_hex(mallory.public_key());
  expect_rejected(envelope.dump(), "tiny-llama", 2, "bad signature");

  // Mallory signs a record in the owner's name with her own key.
  nlohmann::json body = sample_record().to_json();
  body["peer"] = owner.peer_id();
  expect_rejected(sign_envelope(body, mallory), "tiny-llama", 2, "does not match its key");
  // ... which is fine once the peer id is hers.
  body["peer"] = mallory.peer_id();
  EXPECT_TRUE(open_record(sign_envelope(body, mallory), "tiny-llama", 2).has_value());
}

TEST(Record, RejectsARecordUnderAnotherBlockOrModel) {
  const Identity identity = Identity::generate();
  const std::string bytes = seal_record(sample_record(2), identity);
  expect_rejected(bytes, "tiny-llama", 3, "another block's key");
  expect_rejected(bytes, "other-model", 2, "another model");
  // A block outside the span it announces, even under its own key.
  expect_rejected(seal_record(sample_record(5), identity), "tiny-llama", 5,
                  "outside the announced span");
}

TEST(Record, RejectsMalformedJson) {
  for (const std::string bad : {"", "not json", "{", "[]", "{}", "42", R"({"record": {}})",
                                R"({"record": 1, "public_key": "00", "signature": "00"})"}) {
    std::string why;
    EXPECT_FALSE(open_record(bad, "tiny-llama", 2, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  const Identity identity = Identity::generate();
  auto envelope = nlohmann::json::parse(seal_record(sample_record(), identity));
  envelope["public_key"] = "not hex!";
  expect_rejected(envelope.dump(), "tiny-llama", 2, "malformed");
}

TEST(Record, RejectsIllTypedOrMissingFieldsEvenWhenSigned) {
  const Identity identity = Identity::generate();
  nlohmann::json good = sample_record().to_json();
  good["peer"] = identity.peer_id();
  ASSERT_TRUE(open_record(sign_envelope(good, identity), "tiny-llama", 2).has_value());
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"start", "one"},
           {"end", nullptr},
           {"address", 5555},
           {"compute_ms_per_block", "fast"},
           {"cache_tokens_left", nlohmann::json::array()},
           {"next_rtt_ms", "none"},
           {"next_rtt_ms", {{"abcd", "slow"}}},
           {"expires_at", "soon"}}) {
    auto body = good;
    body[field] = value;
    expect_rejected(sign_envelope(body, identity), "tiny-llama", 2, "malformed");
  }
  auto missing = good;
  missing.erase("version");
  expect_rejected(sign_envelope(missing, identity), "tiny-llama", 2, "malformed");
}

TEST(Record, RejectsValuesOutOfRangeEvenWhenSigned) {
  const Identity identity = Identity::generate();
  nlohmann::json good = sample_record().to_json();
  good["peer"] = identity.peer_id();
  struct Case {
    std::string field;
    nlohmann::json value;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{{"state", "busy", "unknown state"},
                                         {"cache_tokens_left", -1, "negative"},
                                         {"compute_ms_per_block", -0.5, "negative"},
                                         {"end", 7, "span outside the model"},
                                         {"start", 4, "span outside the model"},
                                         {"start", -1, "span outside the model"}}) {
    auto body = good;
    body[c.field] = c.value;
    expect_rejected(sign_envelope(body, identity), "tiny-llama", 2, c.needle);
  }
}

// What a reader would allocate or do per block or entry is bounded before it
// does it: `brigade status` once started a thread per claimed block.
TEST(Record, RefusesClaimsBeyondTheBoundsEvenWhenSigned) {
  const Identity identity = Identity::generate();
  nlohmann::json good = sample_record().to_json();
  good["peer"] = identity.peer_id();
  auto huge = good;
  huge["num_blocks"] = 2147483647;
  expect_rejected(sign_envelope(huge, identity), "tiny-llama", 2, "claims 2147483647 blocks");
  auto none = good;
  none["num_blocks"] = 0;
  expect_rejected(sign_envelope(none, identity), "tiny-llama", 2, "claims 0 blocks");
  for (const char* field : {"address", "family", "name", "version"}) {
    auto long_text = good;
    long_text[field] = std::string(kMaxRecordNameBytes + 1, 'x');
    expect_rejected(sign_envelope(long_text, identity), "tiny-llama", 2, "too long");
  }
  auto many = good;
  for (size_t i = 0; i <= kMaxNextRttEntries; ++i) many["next_rtt_ms"]["p" + std::to_string(i)] = 1;
  expect_rejected(sign_envelope(many, identity), "tiny-llama", 2, "next_rtt_ms");
  auto long_model = good;
  long_model["model"] = std::string(kMaxRecordIdBytes + 1, 'm');
  expect_rejected(sign_envelope(long_model, identity), "", 2, "bad model id");
}

TEST(Record, RejectsBadIdentityFieldsEvenWhenSigned) {
  const Identity identity = Identity::generate();
  nlohmann::json good = sample_record().to_json();
  good["peer"] = identity.peer_id();
  ASSERT_TRUE(open_record(sign_envelope(good, identity), "tiny-llama", 2).has_value());
  const std::string digest(64, 'a');
  struct Case {
    std::string field;
    nlohmann::json value;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{
           // One digest per block of the span [1, 4), no more, no less.
           {"block_digests", {{"1", digest}, {"2", digest}}, "2 entries for a span of 3"},
           {"block_digests",
            {{"0", digest}, {"1", digest}, {"2", digest}, {"3", digest}},
            "outside the span"},
           {"block_digests", {{"1", digest}, {"2", digest}, {"x", digest}}, "not a block number"},
           {"block_digests", {{"1", digest}, {"2", digest}, {"03", digest}}, "not a block number"},
           {"block_digests",
            {{"1", digest}, {"2", digest}, {"3", std::string(64, 'A')}},
            "64 lowercase hex"},
           {"block_digests", {{"1", digest}, {"2", digest}, {"3", "abc"}}, "64 lowercase hex"},
           {"block_digests", nlohmann::json::array(), "not an object"},
           {"weight_format", "", "weight format"},
           {"weight_format", std::string(200, 'x'), "weight format"},
           {"weight_format", "bf\n16", "weight format"},
           {"numerics", std::string("a\x01") + "b", "numerics"},
           {"model_name", std::string(300, 'n'), "model name"}}) {
    auto body = good;
    body[c.field] = c.value;
    expect_rejected(sign_envelope(body, identity), "tiny-llama", 2, c.needle);
  }
  for (const char* field : {"block_digests", "weight_format", "numerics", "model_name"}) {
    auto missing = good;
    missing.erase(field);
    expect_rejected(sign_envelope(missing, identity), "tiny-llama", 2, "malformed");
  }
  // A name may be any UTF-8 text without control characters.
  auto named = good;
  named["model_name"] = "Llama \u00e9t\u00e9 / 3.1-8B";
  EXPECT_TRUE(open_record(sign_envelope(named, identity), "tiny-llama", 2).has_value());
}

// ---- the DHT itself, two nodes on 127.0.0.1 ----

TEST(DhtNode, PutOnOneNodeGetOnAnother) {
  DhtNode a(HostPort{"127.0.0.1", 0}, {});
  ASSERT_GT(a.address().port, 0);
  EXPECT_EQ(a.address().host, "127.0.0.1");
  DhtNode b(HostPort{"127.0.0.1", 0}, {a.address()});
  ASSERT_GT(b.wait_for_peers(10s), 0u);
  EXPECT_NE(a.address().port, b.address().port);

  const Identity id = Identity::generate();
  ServerRecord r = sample_record();
  const std::string key = block_key(r.model, r.block);
  const std::string first = seal_record(r, id);
  b.put(key, first, 7);
  auto values =
      get_until(a, key, [&](const auto& v) { return std::count(v.begin(), v.end(), first) >= 1; });
  EXPECT_GE(std::count(values.begin(), values.end(), first), 1);

  // A refresh under the same value id replaces the value on every node,
  // even on a node that stored the first one (a server's "offline" record
  // must replace its "online" one).
  r.state = ServerState::kOffline;
  r.expires_at += 1;
  const std::string second = seal_record(r, id);
  b.put(key, second, 7);
  values = get_until(a, key, [&](const auto& v) {
    return std::count(v.begin(), v.end(), second) >= 1 &&
           std::count(v.begin(), v.end(), first) == 0;
  });
  EXPECT_GE(std::count(values.begin(), values.end(), second), 1);
  EXPECT_EQ(std::count(values.begin(), values.end(), first), 0);

  EXPECT_TRUE(a.get("brigade-test/nothing-here", 2s).empty());
}

TEST(DhtNode, AHostNameListenAddressBindsItsIpv4Address) {
  // From /etc/hosts: no name server is asked.
  const DhtNode node(HostPort{"localhost", 0}, {});
  EXPECT_EQ(node.address().host, "127.0.0.1");
  EXPECT_GT(node.address().port, 0);
}

TEST(SwarmDirectory, ReadSwarmDropsExpiredRecords) {
  DhtNode a(HostPort{"127.0.0.1", 0}, {});
  DhtNode b(HostPort{"127.0.0.1", 0}, {a.address()});
  ASSERT_GT(b.wait_for_peers(10s), 0u);
  const Identity live_id = Identity::generate(), dead_id = Identity::generate();
  ServerRecord live = sample_record();
  live.model = "expiry-model";
  live.num_blocks = 4;
  live.start = 0;
  live.end = 2;
  fill_digests(live);
  ServerRecord dead = live;
  dead.start = 2;
  dead.end = 4;
  fill_digests(dead);
  dead.expires_at = unix_now() - 5;  // expired 5 s ago
  Announcer(b, live_id).announce(live);
  Announcer(b, dead_id).announce(dead);

  // The expired record never counts: storing nodes refuse it
  // (dht/record_policy.h), and readers drop any copy that reaches them.
  SwarmView view;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    view = read_swarm(a, "expiry-model", 4, 2000ms);
    if (view.servers.size() == 1) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(view.servers.size(), 1u);
  EXPECT_EQ(view.servers[0].peer, live_id.peer_id());
  EXPECT_EQ(view.missing_blocks, (std::vector<int>{2, 3}));

  const auto directory = read_directory(a);
  EXPECT_EQ(std::count_if(directory.begin(), directory.end(),
                          [&](const ServerRecord& r) { return r.peer == dead_id.peer_id(); }),
            0);

  // wait_for_full_swarm gives up naming the blocks nobody serves.
  try {
    wait_for_full_swarm(a, ExpectedModel{"expiry-model", 4, {}}, 500ms);
    FAIL() << "the swarm is not full";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
}

TEST(SwarmDirectory, LatestRecordOfAPeerWins) {
  DhtNode a(HostPort{"127.0.0.1", 0}, {});
  DhtNode b(HostPort{"127.0.0.1", 0}, {a.address()});
  ASSERT_GT(b.wait_for_peers(10s), 0u);
  const Identity id = Identity::generate();
  ServerRecord r = sample_record();
  r.model = "offline-model";
  r.start = 0;
  r.end = 3;
  r.num_blocks = 3;
  fill_digests(r);
  Announcer announcer(b, id);
  announcer.announce(r);
  r.state = ServerState::kOffline;
  r.expires_at += 1;
  announcer.announce(r);  // same value ids: replaces the online records
  SwarmView view;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    view = read_swarm(a, "offline-model", 3, 2000ms);
    if (view.servers.size() == 1 && view.servers[0].state == ServerState::kOffline) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(view.servers.size(), 1u);
  EXPECT_EQ(view.servers[0].state, ServerState::kOffline);
  EXPECT_EQ(view.missing_blocks, (std::vector<int>{0, 1, 2}));
}

TEST(SwarmDirectory, LeavesOutServersWithOtherDigestsOrBlockCounts) {
  DhtNode a(HostPort{"127.0.0.1", 0}, {});
  DhtNode b(HostPort{"127.0.0.1", 0}, {a.address()});
  ASSERT_GT(b.wait_for_peers(10s), 0u);
  const Identity good_id = Identity::generate(), liar_id = Identity::generate(),
                 longer_id = Identity::generate();
  ExpectedModel expected{"digest-model", 4, {}};
  for (int i = 0; i < 4; ++i) expected.block_digests.push_back(std::string(64, 'a'));
  ServerRecord good = sample_record();
  good.model = "digest-model";
  good.num_blocks = 4;
  good.start = 0;
  good.end = 2;
  fill_digests(good, 'a');
  ServerRecord liar = good;  // announces the model's id with other weights for [2, 4)
  liar.start = 2;
  liar.end = 4;
  fill_digests(liar, 'a');
  liar.block_digests[3] = std::string(64, 'b');
  ServerRecord longer = liar;  // a model of 6 blocks under the same id
  longer.num_blocks = 6;
  fill_digests(longer, 'a');
  Announcer(b, good_id).announce(good);
  Announcer(b, liar_id).announce(liar);
  Announcer(b, longer_id).announce(longer);

  SwarmView view;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    view = read_swarm(a, expected, 2000ms);
    if (view.servers.size() + view.excluded.size() == 3) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(view.servers.size(), 1u);
  EXPECT_EQ(view.servers[0].peer, good_id.peer_id());
  EXPECT_EQ(view.missing_blocks, (std::vector<int>{2, 3}));
  ASSERT_EQ(view.excluded.size(), 2u);
  std::string reasons;
  for (const auto& e : view.excluded) reasons += e.reason + "\n";
  EXPECT_NE(reasons.find("server " + liar_id.peer_id() +
                         " at 127.0.0.1:5555 holds other weights "
                         "for blocks [3, 4): digest " +
                         std::string(64, 'b') + " != manifest " + std::string(64, 'a')),
            std::string::npos)
      << reasons;
  EXPECT_NE(reasons.find("server " + longer_id.peer_id()), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("6 blocks; this checkpoint has 4 blocks"), std::string::npos) << reasons;

  // Without digests to check, only the block count matters.
  EXPECT_EQ(read_swarm(a, "digest-model", 4, 2000ms).servers.size(), 2u);

  // Waiting for the full swarm gives up naming the liar and its blocks.
  try {
    wait_for_full_swarm(a, expected, 500ms);
    FAIL() << "blocks 2 and 3 have no server with the expected weights";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
    EXPECT_NE(message.find(liar_id.peer_id() + " at 127.0.0.1:5555 holds other weights"),
              std::string::npos)
        << message;
  }
}

// ---- choose_blocks ----

ServerRecord span(int start, int end, double ms_per_block = 1.0) {
  ServerRecord r;
  r.start = start;
  r.end = end;
  r.compute_ms_per_block = ms_per_block;
  return r;
}

TEST(ChooseBlocks, EmptySwarmStartsAtZero) {
  EXPECT_EQ(choose_blocks(SwarmView{}, 6, 3), 0);
  EXPECT_EQ(choose_blocks(SwarmView{}, 6, 6), 0);
}

TEST(ChooseBlocks, FillsTheUnservedBlocks) {
  SwarmView view;
  view.servers = {span(0, 3)};
  EXPECT_EQ(choose_blocks(view, 6, 3), 3);
  EXPECT_EQ(choose_blocks(view, 6, 1), 3);
  view.servers = {span(2, 6)};
  EXPECT_EQ(choose_blocks(view, 6, 2), 0);
  view.servers = {span(0, 2), span(4, 6)};
  EXPECT_EQ(choose_blocks(view, 6, 2), 2);
  // Every window of 5 holds an unserved block, so the weakest block ties at
  // 0: the least total throughput decides, then the lowest start.
  view.servers = {span(0, 1, 1.0), span(5, 6, 0.5)};  // 1000 and 2000 tokens/s
  EXPECT_EQ(choose_blocks(view, 6, 5), 0);            // total 1000 against 2000
  EXPECT_EQ(choose_blocks(view, 6, 4), 1);            // [1, 5) is served by nobody
  view.servers = {span(0, 1), span(5, 6)};
  EXPECT_EQ(choose_blocks(view, 6, 5), 0);  // both windows total 1000: lowest start
}

ServerRecord peer_span(const std::string& peer, int start, int end, double ms_per_block = 1.0) {
  ServerRecord r = span(start, end, ms_per_block);
  r.peer = peer;
  return r;
}

TEST(BetterStart, TwoServersOnOneHalfSplitAndThenStay) {
  SwarmView view;
  view.servers = {peer_span("a", 0, 4), peer_span("b", 0, 4)};
  // Blocks 4-7 have nobody: either server gains by moving there.
  EXPECT_EQ(better_start(view, "a", 8, 0, 4, 0.2), std::optional<int>(4));
  EXPECT_EQ(better_start(view, "b", 8, 0, 4, 0.2), std::optional<int>(4));
  // Once one moved, neither gains: no flapping.
  view.servers = {peer_span("a", 4, 8), peer_span("b", 0, 4)};
  EXPECT_EQ(better_start(view, "a", 8, 4, 4, 0.2), std::nullopt);
  EXPECT_EQ(better_start(view, "b", 8, 0, 4, 0.2), std::nullopt);
  // Not in the view yet (its record not read back): stay.
  EXPECT_EQ(better_start(view, "c", 8, 0, 4, 0.2), std::nullopt);
  // Three 2-block servers on blocks 0-1 of 8: a move cannot fill every hole
  // (the weakest block stays at 0), but fewer holes is a gain.
  view.servers = {peer_span("a", 0, 2), peer_span("b", 0, 2), peer_span("c", 0, 2)};
  EXPECT_EQ(better_start(view, "a", 8, 0, 2, 0.2), std::optional<int>(2));
  view.servers = {peer_span("a", 2, 4), peer_span("b", 0, 2), peer_span("c", 0, 2)};
  EXPECT_EQ(better_start(view, "c", 8, 0, 2, 0.2), std::optional<int>(4));
  EXPECT_EQ(better_start(view, "a", 8, 2, 2, 0.2), std::nullopt);
}

TEST(BetterStart, MovesOnlyForAGainAboveTheMargin) {
  SwarmView view;
  // "a" doubles a fast span while a slow one holds the other half: moving
  // raises the weakest block from 100 to 1100 tokens/s.
  view.servers = {peer_span("a", 0, 3), peer_span("b", 0, 3), peer_span("c", 3, 6, 10.0)};
  EXPECT_EQ(better_start(view, "a", 6, 0, 3, 0.2), std::optional<int>(3));
  // Two equal servers on each half: a move would only make a new weakest
  // half, so nobody moves.
  view.servers = {peer_span("a", 0, 3), peer_span("b", 0, 3), peer_span("c", 3, 6),
                  peer_span("d", 3, 6)};
  EXPECT_EQ(better_start(view, "a", 6, 0, 3, 0.2), std::nullopt);
  // "a" (100 tokens/s) beside a 2000 tokens/s server, a 1000 tokens/s one
  // on the other half: moving gains 10% (1000 -> 1100 on the weakest block),
  // below a 20% margin and above a 5% one.
  view.servers = {peer_span("a", 0, 3, 10.0), peer_span("b", 0, 3, 0.5), peer_span("c", 3, 6)};
  EXPECT_EQ(better_start(view, "a", 6, 0, 3, 0.2), std::nullopt);
  EXPECT_EQ(better_start(view, "a", 6, 0, 3, 0.05), std::optional<int>(3));
}

TEST(ChooseBlocks, WeighsServersBySpeedAndIgnoresOfflineOnes) {
  SwarmView view;
  // Blocks [0, 3) are served by a fast server, [3, 6) by a slow one: the
  // slow half is the weaker.
  view.servers = {span(0, 3, 1.0), span(3, 6, 10.0)};
  EXPECT_EQ(choose_blocks(view, 6, 3), 3);
  const auto throughput = block_throughput(view, 6);
  ASSERT_EQ(throughput.size(), 6u);
  EXPECT_DOUBLE_EQ(throughput[0], 1000.0);
  EXPECT_DOUBLE_EQ(throughput[5], 100.0);
  // An offline server adds nothing.
  view.servers[0].state = ServerState::kOffline;
  EXPECT_EQ(choose_blocks(view, 6, 3), 0);
  EXPECT_DOUBLE_EQ(block_throughput(view, 6)[0], 0.0);
  // Spans reaching past the model are clipped.
  view.servers = {span(0, 9)};
  EXPECT_EQ(block_throughput(view, 6).size(), 6u);
}

}  // namespace
}  // namespace brigade
