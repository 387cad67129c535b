#pragma once
// A node of the Kademlia DHT (OpenDHT) that Brigade uses for discovery.
// Confined to the address it is given: it binds IPv4 only on `listen`
// (Config::bind4), never multicasts (peer discovery/publish off) and
// bootstraps only from the peers it is told, never from public nodes. It
// stores for others only what the record policy admits
// (dht/record_policy.h): signed server records, replaced only by their
// owner.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/address.h"

namespace dht {
class DhtRunner;
}

namespace brigade {

class DhtNode {
 public:
  // Starts the node on `listen` (port 0 picks a free one) and bootstraps
  // from `initial_peers` (may be empty for the first node of a swarm). Host
  // names are resolved to IPv4 here; Error when one does not resolve.
  DhtNode(const HostPort& listen, const std::vector<HostPort>& initial_peers);
  ~DhtNode();  // leaves the network and joins OpenDHT's threads
  DhtNode(const DhtNode&) = delete;
  DhtNode& operator=(const DhtNode&) = delete;

  HostPort address() const;
  // Number of other nodes this one knows (good + dubious), for readiness.
  unsigned known_nodes() const;
  // Blocks until some other node is known or `timeout` passes; returns the
  // count. Always 0 for a lone bootstrap node.
  unsigned wait_for_peers(std::chrono::milliseconds timeout) const;
  // wait_for_peers, then Error (unavailable) naming the initial peers when
  // none of them answered: a node that cannot reach its swarm says so
  // instead of finding an empty one. Nothing to wait for without initial
  // peers.
  void require_peers(std::chrono::milliseconds timeout) const;

  // Stores `bytes` under `key` with a stable `value_id`, so that a refresh
  // replaces the previous value of the same announcer instead of adding one.
  // Other nodes keep it only if it is a record the policy admits.
  void put(const std::string& key, const std::string& bytes, uint64_t value_id);
  // Every value stored under `key` that the network returns before the
  // lookup completes or `timeout` passes.
  std::vector<std::string> get(const std::string& key, std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<dht::DhtRunner> runner_;
  std::string host_;
  std::vector<HostPort> initial_peers_;  // as given, for errors
};

}  // namespace brigade
