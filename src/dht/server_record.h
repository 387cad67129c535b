#pragma once
// What a server announces in the DHT, one signed record per block it serves.
// The record is JSON; the envelope stored in the DHT is
// {"record": {...}, "signature": hex, "public_key": hex}. The signature
// covers the record's canonical dump (sorted keys), and the peer id must be
// derived from the public key, so nobody can announce in another's name.

#include "net/identity.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace brigade {

struct ServerRecord {
  std::string peer;        // peer id, derived from public_key
  std::string public_key;  // raw 32 bytes
  std::string model;       // model id the blocks belong to
  int num_blocks = 0;      // blocks of the whole model
  int block = 0;           // the DHT key this copy is stored under (kDirectoryBlock: the directory)
  int start = 0, end = 0;  // the server's whole span [start, end)
  std::string address;     // host:port of its gRPC endpoint
  std::string state = "online";  // "online" | "offline"
  double compute_ms_per_block = 0;  // one token, batch 1, measured at start
  int64_t cache_tokens_left = 0;
  std::string family;
  std::string name;
  std::string version;
  std::map<std::string, double> next_rtt_ms;  // family hints: RTT to servers of the next blocks
  double expires_at = 0;   // unix seconds

  nlohmann::json to_json() const;
};

// The DHT key of one block of one model.
std::string block_key(const std::string& model, int block);

// Every server also announces itself under one directory key, so that
// `brigade status` can list the swarm without knowing the models.
inline constexpr int kDirectoryBlock = -1;
inline const std::string kDirectoryKey = "brigade/servers";

// Signs `record` with `identity` (which also fills peer and public_key).
std::string seal_record(ServerRecord record, const Identity& identity);

// Parses and verifies an envelope read from the DHT. Returns nullopt (and
// never throws) on malformed JSON, missing or ill-typed fields, a bad
// signature, a peer id that does not match the key, a block outside the
// span, or a record stored under another block's key. An empty `model`
// accepts any model (the directory key).
std::optional<ServerRecord> open_record(const std::string& bytes, const std::string& model,
                                        int block, std::string* why = nullptr);

double unix_now();

}  // namespace brigade
