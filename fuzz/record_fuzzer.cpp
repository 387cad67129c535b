// libFuzzer target: DHT records as a client reads them (open_record).
//
// The first byte picks the mode. Mode 0: the rest is an envelope as stored
// in the DHT, opened as-is (nearly always refused: the fuzzer cannot forge
// signatures). Mode 1: the rest is a record body, which this target signs
// with a key of its own before opening it, so that the field checks behind
// the signature check are reached too. open_record must never throw or
// crash, and a record it accepts must satisfy what it promises (a span
// inside the model, the block inside the span, a known state, non-negative
// numbers, a peer id that matches the key) and survive a seal/open round
// trip unchanged.
//
// With BRIGADE_FUZZ_SEEDS=<dir> set, LLVMFuzzerInitialize first writes
// valid records there as seeds.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dht/server_record.h"

namespace brigade {
namespace {

const Identity& signer() {
  static const Identity identity = Identity::generate();
  return identity;
}

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "record_fuzzer: %s\n", what);
  __builtin_trap();
}

void check_accepted(const ServerRecord& r, int block) {
  if (r.start < 0 || r.start >= r.end || r.end > r.num_blocks) finding("span outside the model");
  if (r.block != block) finding("record of another block");
  if (block != kDirectoryBlock && (r.block < r.start || r.block >= r.end)) {
    finding("block outside the span");
  }
  if (parse_state(state_name(r.state)) != r.state) finding("a state that does not round-trip");
  if (!(r.compute_ms_per_block >= 0) || r.cache_tokens_left < 0) finding("negative fields");
  if (r.peer != peer_id_of(r.public_key)) finding("peer id of another key");
  if (static_cast<int>(r.block_digests.size()) != r.end - r.start)
    finding("digests of another span");
}

void open_all_ways(const std::string& envelope) {
  for (int block : {kDirectoryBlock, 0, 3}) {
    std::string why;
    const auto record = open_record(envelope, "", block, &why);
    if (!record) {
      if (why.empty()) finding("refused without a reason");
      continue;
    }
    check_accepted(*record, block);
    // What we accept, we can seal again and read back the same.
    if (record->peer == signer().peer_id()) {
      const auto again = open_record(seal_record(*record, signer()), record->model, block);
      if (!again || again->to_json() != record->to_json()) finding("round trip changed a record");
    }
  }
}

ServerRecord sample_record(int block) {
  ServerRecord r;
  r.model = "model-abc";
  r.num_blocks = 8;
  r.block = block;
  r.start = 0;
  r.end = 4;
  r.address = "127.0.0.1:5000";
  r.compute_ms_per_block = 0.5;
  r.cache_tokens_left = 1000;
  r.family = "lan";
  r.name = "s";
  r.version = "0.1.0";
  r.next_rtt_ms = {{"peer", 1.5}};
  for (int b = r.start; b < r.end; ++b) r.block_digests[b] = std::string(64, 'c');
  r.expires_at = 1e9;
  return r;
}

void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  int n = 0;
  for (int block : {kDirectoryBlock, 0, 3}) {
    ServerRecord r = sample_record(block);
    std::ofstream(dir / ("envelope-" + std::to_string(n)), std::ios::binary)
        << '\0' << seal_record(r, signer());
    r.peer = signer().peer_id();
    r.public_key = signer().public_key();
    std::ofstream(dir / ("body-" + std::to_string(n)), std::ios::binary)
        << '\1' << r.to_json().dump();
    ++n;
  }
}

}  // namespace
}  // namespace brigade

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seeds = std::getenv("BRIGADE_FUZZ_SEEDS")) brigade::write_seeds(seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brigade;
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    open_all_ways(rest);
    return 0;
  }
  const auto body = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  const nlohmann::json envelope = {{"record", body},
                                   {"public_key", to_hex(signer().public_key())},
                                   {"signature", to_hex(signer().sign(body.dump()))}};
  open_all_ways(envelope.dump());
  return 0;
}
