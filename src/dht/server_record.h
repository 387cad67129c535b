#pragma once
// What a server announces in the DHT, one signed record per block it serves.
// The record is JSON; the envelope stored in the DHT is
// {"record": {...}, "signature": hex, "public_key": hex}. The signature
// covers the record's canonical dump (sorted keys), and the peer id must be
// derived from the public key, so nobody can announce in another's name.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "net/identity.h"

namespace brigade {

// Whether a server takes sessions. Spelled "online" / "offline" only in the
// record's JSON.
enum class ServerState { kOnline, kOffline };
const char* state_name(ServerState state);
std::optional<ServerState> parse_state(const std::string& name);

struct ServerRecord {
  std::string peer;        // peer id, derived from public_key
  std::string public_key;  // raw 32 bytes
  std::string model;       // model id the blocks belong to (model/manifest.h)
  std::string model_name;  // for people (`_name_or_path` or --model-name); never identity
  int num_blocks = 0;      // blocks of the whole model
  int block = 0;           // the DHT key this copy is stored under (kDirectoryBlock: the directory)
  int start = 0, end = 0;  // the server's whole span [start, end)
  std::string address;     // host:port of its gRPC endpoint
  ServerState state = ServerState::kOnline;
  double compute_ms_per_block = 0;  // one token, batch 1, measured at start
  int64_t cache_tokens_left = 0;
  std::string family;
  std::string name;
  std::string version;
  std::map<std::string, double> next_rtt_ms;  // family hints: RTT to servers of the next blocks
  // The manifest digest of every block of [start, end), as the server
  // checked its weights against it: clients route only through servers
  // whose digests equal their own manifest's.
  std::map<int, std::string> block_digests;
  // How the weights are held for compute ("f32", "bf16", "int8", ...):
  // exactness holds per format, so clients route through one format.
  std::string weight_format = "f32";
  // Kernel version, ISA path and format: servers with equal ids agree
  // bitwise. Empty: not announced.
  std::string numerics;
  double expires_at = 0;  // unix seconds

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
// span, a record stored under another block's key, block digests that are
// not exactly one 64-hex-digit digest per block of the span, a claim beyond
// the bounds below, or a text field that is not short printable text. An empty `model`
// accepts any model (the directory key).
std::optional<ServerRecord> open_record(const std::string& bytes, const std::string& model,
                                        int block, std::string* why = nullptr);

double unix_now();

// Bounds on what a record may claim, checked before anything is allocated
// for it: a reader (`brigade status` included) does work per block and per
// entry, so a hostile record claiming 2^31 - 1 blocks must be refused, not
// served.
inline constexpr size_t kMaxRecordIdBytes = 128;    // model, weight_format, numerics
inline constexpr size_t kMaxRecordNameBytes = 256;  // model_name, family, name, version, address
inline constexpr int kMaxModelBlocks = 1024;        // num_blocks (the largest models have ~130)
inline constexpr size_t kMaxNextRttEntries = 64;    // next_rtt_ms
// True when `text` has at most `max_size` bytes and no control character
// (UTF-8 is fine): what open_record accepts in free-text fields.
bool is_record_text(const std::string& text, size_t max_size);

}  // namespace brigade
