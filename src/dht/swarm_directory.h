#pragma once
// The swarm as the DHT describes it: servers announce one signed record per
// block; clients and `brigade status` read every block's records back.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "dht/dht_node.h"
#include "dht/server_record.h"
#include "model/manifest.h"

namespace brigade {

// What a reader expects of the servers of one model: they announce under
// `id` (the manifest's model id), for a model of `num_blocks` blocks, and
// the digest of every block they serve equals block_digests[block]. Empty
// block_digests: not checked (`brigade status`, which has no manifest).
struct ExpectedModel {
  std::string id;
  int num_blocks = 0;
  std::vector<std::string> block_digests;
};

ExpectedModel expected_model(const Manifest& manifest);
// Opens the checkpoint in `model_dir` and its manifest (open_manifest:
// computed and cached on first use). For tests and benchmarks.
ExpectedModel expected_model_of(const std::filesystem::path& model_dir);

// Announces a server's records under the key of every block of its span and
// under the directory key. Each announcer draws random value ids once, so
// that its refreshes (and its "offline" record) replace its earlier records.
// Random, because a node applies the policy of the value type of what it
// already holds under an id (dht/record_policy.h): an id known in advance
// could be taken first under another type and the server locked out of it.
// Once stored, an id is public; a node that does not hold the record yet (one
// that joins close to the key) could still be sent it first under another
// type, until the server restarts with new ids. Readers verify every record,
// so such a node can hide a record, never forge one.
class Announcer {
 public:
  Announcer(DhtNode& dht, const Identity& identity);
  void announce(const ServerRecord& record);

 private:
  DhtNode& dht_;
  const Identity& identity_;
  uint64_t value_ids_;
};

// A server whose valid record does not match the reader's ExpectedModel.
struct ExcludedServer {
  ServerRecord record;
  std::string reason;  // "server <peer> at <address> holds other weights for blocks ..."
};

struct SwarmView {
  std::vector<ServerRecord> servers;  // one per peer (latest record), online and offline
  std::vector<int> missing_blocks;    // blocks no online server of `servers` serves
  int rejected_records = 0;           // bad signature, malformed, expired
  // Left out of `servers`: another block count, or block digests that differ
  // from the expected ones.
  std::vector<ExcludedServer> excluded;
};

// Every server's latest valid, unexpired directory record, any model.
std::vector<ServerRecord> read_directory(
    DhtNode& dht, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// Reads the records of blocks [0, expected.num_blocks) under the model's
// id. Expired and invalid records are dropped (and counted); servers that
// do not match `expected` are listed in `excluded`, with the reason.
SwarmView read_swarm(DhtNode& dht, const ExpectedModel& expected,
                     std::chrono::milliseconds timeout_per_block = std::chrono::milliseconds(1500));
// The same without digests to check.
SwarmView read_swarm(DhtNode& dht, const std::string& model, int num_blocks,
                     std::chrono::milliseconds timeout_per_block = std::chrono::milliseconds(1500));

}  // namespace brigade

namespace brigade {

// Reads the swarm until every block of [0, expected.num_blocks) has an
// online server that matches `expected`, or `wait` passes. Throws Error on
// timeout naming the missing blocks and the servers that announce them for
// other weights or another block count (under this model id or, from the
// directory, another one).
SwarmView wait_for_full_swarm(DhtNode& dht, const ExpectedModel& expected,
                              std::chrono::milliseconds wait);

}  // namespace brigade
