#include "dht/swarm_directory.h"

#include "util/error.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/ranges.h>

namespace brigade {

std::string model_id_for(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  std::ifstream in(path);
  require(in.good(), "cannot read {}", path.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    const auto config = nlohmann::json::parse(text.str());
    if (config.contains("_name_or_path") && config["_name_or_path"].is_string() &&
        !config["_name_or_path"].get<std::string>().empty()) {
      return config["_name_or_path"].get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", path.string(), e.what());
  }
  return "config-" + to_hex(digest(text.str())).substr(0, 16);
}

void announce(DhtNode& dht, const ServerRecord& record, const Identity& identity) {
  // A stable value id per (peer, block) so that refreshes replace old values.
  uint64_t base = 0;
  std::memcpy(&base, identity.public_key().data(), sizeof base);
  for (int block = record.start; block < record.end; ++block) {
    ServerRecord copy = record;
    copy.block = block;
    dht.put(block_key(record.model, block), seal_record(copy, identity),
            (base ^ static_cast<uint64_t>(block)) | 1);
  }
  ServerRecord entry = record;
  entry.block = kDirectoryBlock;
  dht.put(kDirectoryKey, seal_record(entry, identity), base | 1);
}

std::vector<ServerRecord> read_directory(DhtNode& dht, std::chrono::milliseconds timeout) {
  std::map<std::string, ServerRecord> by_peer;
  const double now = unix_now();
  for (const auto& bytes : dht.get(kDirectoryKey, timeout)) {
    auto record = open_record(bytes, "", kDirectoryBlock);
    if (!record || record->expires_at < now) continue;
    auto it = by_peer.find(record->peer);
    if (it == by_peer.end() || it->second.expires_at < record->expires_at) {
      by_peer[record->peer] = *record;
    }
  }
  std::vector<ServerRecord> out;
  for (auto& [peer, record] : by_peer) out.push_back(record);
  return out;
}

SwarmView read_swarm(DhtNode& dht, const std::string& model, int num_blocks,
                     std::chrono::milliseconds timeout_per_block) {
  SwarmView view;
  std::map<std::string, ServerRecord> by_peer;
  const double now = unix_now();
  // Lookups of all blocks run concurrently; each is bounded by its timeout.
  std::vector<std::future<std::vector<std::string>>> lookups;
  for (int block = 0; block < num_blocks; ++block) {
    lookups.push_back(std::async(std::launch::async, [&dht, &model, block, timeout_per_block] {
      return dht.get(block_key(model, block), timeout_per_block);
    }));
  }
  for (int block = 0; block < num_blocks; ++block) {
    for (const auto& bytes : lookups[block].get()) {
      std::string why;
      auto record = open_record(bytes, model, block, &why);
      if (!record) {
        spdlog::debug("ignoring a record of block {}: {}", block, why);
        ++view.rejected_records;
        continue;
      }
      if (record->expires_at < now) {
        ++view.rejected_records;
        continue;
      }
      auto it = by_peer.find(record->peer);
      if (it == by_peer.end() || it->second.expires_at < record->expires_at) {
        by_peer[record->peer] = *record;
      }
    }
  }
  std::vector<bool> served(num_blocks, false);
  for (auto& [peer, record] : by_peer) {
    if (record.state == "online") {
      for (int b = record.start; b < std::min(record.end, num_blocks); ++b) served[b] = true;
    }
    view.servers.push_back(record);
  }
  for (int b = 0; b < num_blocks; ++b) {
    if (!served[b]) view.missing_blocks.push_back(b);
  }
  return view;
}

}  // namespace brigade

namespace brigade {

SwarmView wait_for_full_swarm(DhtNode& dht, const std::string& model, int num_blocks,
                              std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    SwarmView view = read_swarm(dht, model, num_blocks);
    if (view.missing_blocks.empty()) return view;
    if (std::chrono::steady_clock::now() >= deadline) {
      fail("the swarm does not serve blocks [{}] of model '{}' ({} servers found after {} s)",
           fmt::join(view.missing_blocks, ", "), model, view.servers.size(),
           std::chrono::duration_cast<std::chrono::seconds>(wait).count());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

}  // namespace brigade
