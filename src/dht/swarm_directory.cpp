#include "dht/swarm_directory.h"

#include <fmt/ranges.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "model/checkpoint.h"
#include "model/config.h"
#include "util/error.h"
#include "util/parallel_map.h"

namespace brigade {

ExpectedModel expected_model(const Manifest& manifest) {
  return {manifest.model_id(), manifest.num_blocks(), manifest.block_digests};
}

ExpectedModel expected_model_of(const std::filesystem::path& model_dir) {
  const ModelConfig config = ModelConfig::load(model_dir);
  const auto checkpoint = Checkpoint::open(model_dir);
  return expected_model(open_manifest(model_dir, config, *checkpoint));
}

namespace {

// "[2, 4)" or "[2, 4), [6, 7)": runs of consecutive blocks.
std::string block_ranges(const std::vector<int>& blocks) {
  std::vector<std::string> runs;
  for (size_t i = 0; i < blocks.size();) {
    size_t j = i + 1;
    while (j < blocks.size() && blocks[j] == blocks[j - 1] + 1) ++j;
    runs.push_back(fmt::format("[{}, {})", blocks[i], blocks[j - 1] + 1));
    i = j;
  }
  return fmt::format("{}", fmt::join(runs, ", "));
}

// Why `record` cannot serve `expected`'s blocks, or "" when it can.
std::string mismatch(const ServerRecord& record, const ExpectedModel& expected) {
  const std::string who = fmt::format("server {} at {}", record.peer, record.address);
  if (record.num_blocks != expected.num_blocks) {
    return fmt::format("{} serves model {} of {} blocks; this checkpoint has {} blocks", who,
                       record.model, record.num_blocks, expected.num_blocks);
  }
  if (expected.block_digests.empty()) return "";
  std::vector<int> differing;
  for (int b = record.start; b < record.end; ++b) {
    const auto it = record.block_digests.find(b);
    if (it == record.block_digests.end() || it->second != expected.block_digests[b]) {
      differing.push_back(b);
    }
  }
  if (differing.empty()) {
    if (record.model == expected.id) return "";
    return fmt::format(
        "{} serves blocks [{}, {}) of another model {} (the same block weights; "
        "another config or head)",
        who, record.start, record.end, record.model);
  }
  const int b = differing.front();
  const auto it = record.block_digests.find(b);
  return fmt::format(
      "{} holds other weights for blocks {}: digest {} != manifest {}{}", who,
      block_ranges(differing), it == record.block_digests.end() ? "(none)" : it->second,
      expected.block_digests[b],
      record.model == expected.id ? "" : " (it announces model " + record.model + ")");
}

}  // namespace

Announcer::Announcer(DhtNode& dht, const Identity& identity)
    : dht_(dht), identity_(identity), value_ids_(0) {
  randombytes_buf(&value_ids_, sizeof value_ids_);
}

void Announcer::announce(const ServerRecord& record) {
  // One value id per key: the block's number mixed into the announcer's.
  for (int block = record.start; block < record.end; ++block) {
    ServerRecord copy = record;
    copy.block = block;
    dht_.put(block_key(record.model, block), seal_record(copy, identity_),
             (value_ids_ ^ static_cast<uint64_t>(block)) | 1);
  }
  ServerRecord entry = record;
  entry.block = kDirectoryBlock;
  dht_.put(kDirectoryKey, seal_record(entry, identity_), value_ids_ | 1);
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
  return read_swarm(dht, ExpectedModel{model, num_blocks, {}}, timeout_per_block);
}

SwarmView read_swarm(DhtNode& dht, const ExpectedModel& expected,
                     std::chrono::milliseconds timeout_per_block) {
  require(expected.block_digests.empty() ||
              static_cast<int>(expected.block_digests.size()) == expected.num_blocks,
          "read_swarm: {} block digests for {} blocks", expected.block_digests.size(),
          expected.num_blocks);
  const std::string& model = expected.id;
  const int num_blocks = expected.num_blocks;
  SwarmView view;
  std::map<std::string, ServerRecord> by_peer;
  const double now = unix_now();
  // Lookups run concurrently; each is bounded by its timeout.
  const auto found = parallel_map(static_cast<size_t>(std::max(num_blocks, 0)), 32, [&](size_t b) {
    return dht.get(block_key(model, static_cast<int>(b)), timeout_per_block);
  });
  for (int block = 0; block < num_blocks; ++block) {
    for (const auto& bytes : found[block]) {
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
    if (auto why = mismatch(record, expected); !why.empty()) {
      spdlog::debug("leaving out {}", why);
      view.excluded.push_back({record, std::move(why)});
      continue;
    }
    if (record.state == ServerState::kOnline) {
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

SwarmView wait_for_full_swarm(DhtNode& dht, const ExpectedModel& expected,
                              std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    SwarmView view = read_swarm(dht, expected);
    if (view.missing_blocks.empty()) return view;
    if (std::chrono::steady_clock::now() >= deadline) {
      // Say who holds the missing blocks for other weights: servers under
      // this id that announce other digests, and servers of other models.
      std::vector<std::string> reasons;
      const std::set<int> missing(view.missing_blocks.begin(), view.missing_blocks.end());
      auto covers_missing = [&](const ServerRecord& r) {
        for (int b = r.start; b < r.end; ++b) {
          if (missing.count(b)) return true;
        }
        return false;
      };
      for (const auto& e : view.excluded) {
        if (e.record.state == ServerState::kOnline && covers_missing(e.record))
          reasons.push_back(e.reason);
      }
      for (const auto& r : read_directory(dht)) {
        if (r.model == expected.id || r.state != ServerState::kOnline || !covers_missing(r))
          continue;
        if (auto why = mismatch(r, expected); !why.empty()) reasons.push_back(why);
      }
      fail("the swarm does not serve blocks [{}] of model {} ({} servers of it found after {} s){}",
           fmt::join(view.missing_blocks, ", "), expected.id, view.servers.size(),
           std::chrono::duration_cast<std::chrono::seconds>(wait).count(),
           reasons.empty() ? "" : fmt::format("; {}", fmt::join(reasons, "; ")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

}  // namespace brigade
