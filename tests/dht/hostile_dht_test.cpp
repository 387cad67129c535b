// A hostile DHT participant: what storing nodes admit (dht/record_policy.h),
// and an attacker's node on 127.0.0.1 that tries to erase or replace a
// server's records on the honest nodes by reusing their value ids.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <opendht/dhtrunner.h>

#include <future>

#include "dht/record_policy.h"
#include "dht/sample_records.h"
#include "dht/swarm_directory.h"

namespace brigade {
namespace {

// The key check of a value sent under `key`.
KeyMatches sent_under(const std::string& key) {
  return [key](const std::string& k) { return k == key; };
}

TEST(RecordPolicy, StoresOnlyCurrentSignedRecordsUnderTheirOwnKey) {
  const Identity id = Identity::generate();
  ServerRecord r = sample_record();
  const std::string key = block_key(r.model, r.block);
  const double now = unix_now();
  EXPECT_EQ(refuse_to_store(seal_record(r, id), sent_under(key), now), "");

  ServerRecord directory = r;
  directory.block = kDirectoryBlock;
  EXPECT_EQ(refuse_to_store(seal_record(directory, id), sent_under(kDirectoryKey), now), "");

  EXPECT_NE(refuse_to_store("first value", sent_under(key), now), "");
  auto huge_block = nlohmann::json::parse(seal_record(r, id));
  huge_block["record"]["block"] = 1e300;
  EXPECT_NE(refuse_to_store(huge_block.dump(), sent_under(key), now).find("bad block"),
            std::string::npos);
  EXPECT_NE(refuse_to_store(seal_record(r, id), sent_under(block_key(r.model, 3)), now), "");
  EXPECT_NE(refuse_to_store(seal_record(directory, id), sent_under(key), now), "");

  // Signed by another key than the one it names: unsigned, for the policy.
  auto envelope = nlohmann::json::parse(seal_record(r, id));
  envelope["signature"] = to_hex(Identity::generate().sign(envelope["record"].dump()));
  EXPECT_NE(refuse_to_store(envelope.dump(), sent_under(key), now).find("signature"),
            std::string::npos);

  ServerRecord expired = r;
  expired.expires_at = now - 1;
  EXPECT_EQ(refuse_to_store(seal_record(expired, id), sent_under(key), now), "record expired");
  ServerRecord forever = r;
  forever.expires_at = now + 10 * kMaxRecordLifetimeSeconds;
  EXPECT_NE(refuse_to_store(seal_record(forever, id), sent_under(key), now).find("live"),
            std::string::npos);
}

TEST(RecordPolicy, OnlyTheOwnerReplacesARecordAndNeverWithAnOlderOne) {
  const Identity owner = Identity::generate(), other = Identity::generate();
  ServerRecord r = sample_record();
  const std::string key = block_key(r.model, r.block);
  const double now = unix_now();
  const std::string stored = seal_record(r, owner);

  ServerRecord refresh = r;
  refresh.expires_at += 10;
  refresh.state = ServerState::kOffline;
  EXPECT_EQ(refuse_to_replace(stored, seal_record(refresh, owner), sent_under(key), now), "");

  EXPECT_NE(refuse_to_replace(stored, seal_record(refresh, other), sent_under(key), now)
                .find("would replace"),
            std::string::npos);
  EXPECT_NE(refuse_to_replace(stored, "garbage", sent_under(key), now), "");
  ServerRecord older = r;
  older.expires_at -= 5;
  EXPECT_EQ(refuse_to_replace(stored, seal_record(older, owner), sent_under(key), now),
            "record older than the one it would replace");
}

// A plain OpenDHT node that stores anything of any type: the attacker's.
class AttackerNode {
 public:
  explicit AttackerNode(const HostPort& bootstrap) {
    dht::DhtRunner::Config config;
    config.dht_config.node_config.network = 0;
    config.threaded = true;
    config.peer_discovery = false;
    config.peer_publish = false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    config.bind4 = dht::SockAddr(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    config.bind6 = {};
    runner_.run(config, {});
    runner_.bootstrap(bootstrap.host, std::to_string(bootstrap.port));
  }
  ~AttackerNode() {
    std::promise<void> done;
    runner_.shutdown([&done] { done.set_value(); }, true);
    done.get_future().wait_for(2s);
    runner_.join();
  }

  // The values stored under `key`, with their ids and types.
  std::vector<std::shared_ptr<dht::Value>> get(const std::string& key) {
    return runner_.get(dht::InfoHash::get(key)).get();
  }
  // Puts `bytes` under `key` with the given value id and type; true when
  // some node took the message (whether it stored the value is its policy).
  bool put(const std::string& key, const std::string& bytes, dht::Value::Id id,
           dht::ValueType::Id type) {
    auto value =
        std::make_shared<dht::Value>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    value->id = id;
    value->type = type;
    std::promise<bool> stored;
    runner_.put(dht::InfoHash::get(key), value, [&stored](bool ok) { stored.set_value(ok); });
    return stored.get_future().get();
  }

 private:
  dht::DhtRunner runner_;
};

TEST(HostileDht, NobodyButTheOwnerCanReplaceOrEraseAServersRecords) {
  DhtNode honest(HostPort{"127.0.0.1", 0}, {});
  DhtNode server_node(HostPort{"127.0.0.1", 0}, {honest.address()});
  ASSERT_GT(server_node.wait_for_peers(10s), 0u);

  const Identity server = Identity::generate();
  ServerRecord captured = sample_record();
  captured.model = "attacked-model";
  captured.expires_at = unix_now() + 20;
  const std::string key = block_key(captured.model, captured.block);
  ServerRecord current = captured;
  current.expires_at += 10;
  current.name = "current";
  Announcer(server_node, server).announce(current);
  const std::string genuine = [&] {
    ServerRecord copy = current;
    copy.block = captured.block;
    return seal_record(copy, server);
  }();
  get_until(honest, key, [&](const auto& v) { return !v.empty(); });

  {
    AttackerNode attacker(honest.address());
    std::vector<std::shared_ptr<dht::Value>> found;
    for (int i = 0; i < 50 && found.empty(); ++i) {
      found = attacker.get(key);
      if (found.empty()) std::this_thread::sleep_for(100ms);
    }
    ASSERT_FALSE(found.empty()) << "the attacker never saw the server's record";
    const auto id = found.front()->id;
    const auto type = found.front()->type;

    // Its own signed record, garbage, the server's own older record and an
    // unsigned copy, each under the server's value id, with Brigade's type
    // and with OpenDHT's default one.
    const Identity sybil = Identity::generate();
    ServerRecord own = current;
    own.address = "127.0.0.1:1";
    auto unsigned_copy = nlohmann::json::parse(genuine);
    unsigned_copy["record"]["address"] = "127.0.0.1:1";
    for (const std::string& bytes : {seal_record(own, sybil), std::string("garbage"),
                                     seal_record(captured, server), unsigned_copy.dump()}) {
      for (const dht::ValueType::Id as : {type, dht::ValueType::USER_DATA.id}) {
        attacker.put(key, bytes, id, as);
      }
    }
  }  // the attacker leaves: what remains is what honest nodes stored

  const auto values = honest.get(key, 3s);
  EXPECT_EQ(std::count(values.begin(), values.end(), genuine), 1);
  for (const auto& v : values) {
    const auto opened = open_record(v, current.model, current.block);
    ASSERT_TRUE(opened.has_value()) << "an honest node stored: " << v;
    EXPECT_EQ(opened->peer, server.peer_id());
    EXPECT_EQ(opened->name, "current");
  }
}

}  // namespace
}  // namespace brigade
