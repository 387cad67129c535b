#include "dht/dht_node.h"

#include <arpa/inet.h>
#include <fmt/ranges.h>
#include <opendht/dhtrunner.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "dht/record_policy.h"
#include "dht/server_record.h"
#include "util/error.h"

namespace brigade {
namespace {

// The OpenDHT value type of everything Brigade stores (see the constructor).
constexpr dht::ValueType::Id kRecordValueType = 0x6272;

}  // namespace

DhtNode::DhtNode(const HostPort& listen, const std::vector<HostPort>& initial_peers)
    : runner_(std::make_unique<dht::DhtRunner>()),
      host_(resolve_ipv4(listen.host, "DHT listen address")),
      initial_peers_(initial_peers) {
  dht::DhtRunner::Config config;
  config.dht_config.node_config.network = 0;
  config.dht_config.node_config.maintain_storage = false;
  config.threaded = true;
  config.peer_discovery = false;
  config.peer_publish = false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(listen.port));
  ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);  // dotted: resolve_ipv4 made it so
  config.bind4 = dht::SockAddr(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  config.bind6 = {};
  try {
    runner_->run(config, {});
  } catch (const std::exception& e) {
    fail("cannot start the DHT node on {}: {}", listen.str(), e.what());
  }
  // Every value another node sends under Brigade's type passes the record
  // policy (dht/record_policy.h): only its owner can store or replace a
  // server's record, here as on every other Brigade node.
  const auto text = [](const dht::Value& v) { return std::string(v.data.begin(), v.data.end()); };
  const auto under = [](const dht::InfoHash& hash) {
    return [hash](const std::string& key) { return dht::InfoHash::get(key) == hash; };
  };
  runner_->registerType(dht::ValueType(
      kRecordValueType, "brigade-record", std::chrono::minutes(10),
      [text, under](dht::InfoHash hash, std::shared_ptr<dht::Value>& value, const dht::InfoHash&,
                    const dht::SockAddr& from) {
        const std::string why = refuse_to_store(text(*value), under(hash), unix_now());
        if (!why.empty())
          spdlog::debug("DHT: not storing a value from {}: {}", from.toString(), why);
        return why.empty();
      },
      [text, under](dht::InfoHash hash, const std::shared_ptr<dht::Value>& old_value,
                    std::shared_ptr<dht::Value>& new_value, const dht::InfoHash&,
                    const dht::SockAddr& from) {
        const std::string why =
            refuse_to_replace(text(*old_value), text(*new_value), under(hash), unix_now());
        if (!why.empty())
          spdlog::debug("DHT: not replacing a value from {}: {}", from.toString(), why);
        return why.empty();
      }));
  for (const auto& peer : initial_peers) {
    runner_->bootstrap(resolve_ipv4(peer.host, "--initial-peers"), std::to_string(peer.port));
  }
}

DhtNode::~DhtNode() {
  std::promise<void> done;
  runner_->shutdown([&done] { done.set_value(); }, true);
  done.get_future().wait_for(std::chrono::seconds(2));
  runner_->join();
}

HostPort DhtNode::address() const { return {host_, runner_->getBoundPort(AF_INET)}; }

unsigned DhtNode::known_nodes() const {
  unsigned good = 0, dubious = 0;
  runner_->getNodesStats(AF_INET, &good, &dubious, nullptr, nullptr);
  return good + dubious;
}

unsigned DhtNode::wait_for_peers(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  unsigned count = known_nodes();
  while (count == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    count = known_nodes();
  }
  return count;
}

void DhtNode::require_peers(std::chrono::milliseconds timeout) const {
  if (initial_peers_.empty() || wait_for_peers(timeout) > 0) return;
  std::vector<std::string> peers;
  for (const auto& p : initial_peers_) peers.push_back(p.str());
  fail(ErrorKind::kUnavailable,
       "no DHT node answered at --initial-peers {} within {} s (is `brigade dht` running there, "
       "and reachable from {}?)",
       fmt::join(peers, ","), std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
       host_);
}

void DhtNode::put(const std::string& key, const std::string& bytes, uint64_t value_id) {
  auto value =
      std::make_shared<dht::Value>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  value->id = value_id;
  value->type = kRecordValueType;
  runner_->put(dht::InfoHash::get(key), value, [key](bool ok) {
    if (!ok) spdlog::debug("DHT put of '{}' reached no node yet", key);
  });
}

std::vector<std::string> DhtNode::get(const std::string& key, std::chrono::milliseconds timeout) {
  struct Shared {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::vector<std::string> values;
  };
  auto shared = std::make_shared<Shared>();
  runner_->get(
      dht::InfoHash::get(key),
      [shared](const std::vector<std::shared_ptr<dht::Value>>& values) {
        std::lock_guard lock(shared->mutex);
        for (const auto& v : values) {
          shared->values.emplace_back(v->data.begin(), v->data.end());
        }
        return true;
      },
      [shared](bool) {
        std::lock_guard lock(shared->mutex);
        shared->done = true;
        shared->done_cv.notify_all();
      });
  std::unique_lock lock(shared->mutex);
  shared->done_cv.wait_for(lock, timeout, [&] { return shared->done; });
  return shared->values;
}

}  // namespace brigade
