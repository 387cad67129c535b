#pragma once
// Records and DHT polling shared by the DHT tests: a valid record to start
// from, envelopes signed as they stand, and waiting for the DHT to settle.

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "dht/dht_node.h"
#include "dht/server_record.h"
#include "net/identity.h"

namespace brigade {

using namespace std::chrono_literals;

// A digest per block of the record's span (what a server announces).
inline void fill_digests(ServerRecord& r, char digit = 'a') {
  r.block_digests.clear();
  for (int b = r.start; b < r.end; ++b) r.block_digests[b] = std::string(64, digit);
}

inline ServerRecord sample_record(int block = 2) {
  ServerRecord r;
  r.model = "tiny-llama";
  r.num_blocks = 6;
  r.block = block;
  r.start = 1;
  r.end = 4;
  r.address = "127.0.0.1:5555";
  r.state = ServerState::kOnline;
  r.compute_ms_per_block = 0.75;
  r.cache_tokens_left = 4096;
  r.family = "lan";
  r.name = "box";
  r.version = "0.1.0";
  r.next_rtt_ms = {{"abcd", 1.5}};
  r.model_name = "org/tiny-llama";
  r.weight_format = "bf16";
  r.numerics = "k1-avx2-bf16";
  fill_digests(r);
  r.expires_at = unix_now() + 30;
  return r;
}

// An envelope with `body` signed by `identity` as it stands: lets a test
// build records that seal_record would never produce.
inline std::string sign_envelope(const nlohmann::json& body, const Identity& identity) {
  return nlohmann::json{{"record", body},
                        {"public_key", to_hex(identity.public_key())},
                        {"signature", to_hex(identity.sign(body.dump()))}}
      .dump();
}

// Polls `get` until it returns something that `done` accepts (or 15 s pass).
template <typename Done>
std::vector<std::string> get_until(DhtNode& node, const std::string& key, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  std::vector<std::string> values;
  while (std::chrono::steady_clock::now() < deadline) {
    values = node.get(key, 2s);
    if (done(values)) break;
    std::this_thread::sleep_for(100ms);
  }
  return values;
}

}  // namespace brigade
