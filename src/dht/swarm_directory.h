#pragma once
// The swarm as the DHT describes it: servers announce one signed record per
// block; clients and `brigade status` read every block's records back.

#include "dht/dht_node.h"
#include "dht/server_record.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace brigade {

// The id under which a model's blocks are announced: config.json's
// "_name_or_path" when present (Hugging Face sets it to the repo name), else
// a digest of config.json, so that servers and clients holding the same
// checkpoint agree wherever it lives on disk.
std::string model_id_for(const std::filesystem::path& model_dir);

// Announces `record` under the key of every block of its span.
void announce(DhtNode& dht, const ServerRecord& record, const Identity& identity);

struct SwarmView {
  std::vector<ServerRecord> servers;  // one per peer (latest record), online and offline
  std::vector<int> missing_blocks;    // blocks no online server serves
  int rejected_records = 0;           // bad signature, malformed, expired
};

// Every server's latest valid, unexpired directory record, any model.
std::vector<ServerRecord> read_directory(
    DhtNode& dht, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// Reads the records of blocks [0, num_blocks). Expired and invalid records
// are dropped (and counted).
SwarmView read_swarm(DhtNode& dht, const std::string& model, int num_blocks,
                     std::chrono::milliseconds timeout_per_block = std::chrono::milliseconds(1500));

}  // namespace brigade

namespace brigade {

// Reads the swarm until every block of [0, num_blocks) has an online server
// or `wait` passes. Throws Error naming the missing blocks on timeout.
SwarmView wait_for_full_swarm(DhtNode& dht, const std::string& model, int num_blocks,
                              std::chrono::milliseconds wait);

}  // namespace brigade
