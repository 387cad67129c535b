#pragma once
// A model is its content. Its manifest holds the canonical config (the parsed
// config, so that re-indenting config.json changes nothing), the BLAKE2b-256
// digest of each block's tensors and the digest of the client-side tensors
// (embeddings, final norm and, unless tied, the LM head). The model id is the
// digest of the manifest's canonical JSON: servers announce their blocks
// under it and clients route only through servers of their id. Names
// (`_name_or_path`, `--model-name`) are for people and never part of it.
//
// The manifest is cached beside the checkpoint as `brigade-manifest.json`,
// with the size and modification time of every shard it was computed from. A
// client that holds only the shards of the embeddings, final norm and LM
// head (and a server that holds only its blocks') cannot compute it: such a
// directory must ship the manifest, and each process checks the tensors it
// uses against it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"

namespace brigade {

// The manifest's file name inside the checkpoint directory.
inline constexpr const char* kManifestFile = "brigade-manifest.json";

// A shard file as it was when its tensors were hashed. A cached manifest is
// trusted only while every shard it recorded still has the same stamp.
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

struct Manifest {
  nlohmann::json config;                   // ModelConfig::to_json() of the checkpoint
  std::vector<std::string> block_digests;  // lowercase hex BLAKE2b-256, one per block
  std::string head_digest;                 // embeddings, final norm, LM head (unless tied)
  // Not part of the identity: the shards the digests were taken from.
  std::map<std::string, FileStamp> files;
  // Not serialized: true when this process hashed every tensor itself, so
  // verify_manifest() has nothing left to check.
  bool hashed_here = false;

  int num_blocks() const { return static_cast<int>(block_digests.size()); }
  // {"format", "config", "blocks", "head"}: what the model id covers.
  nlohmann::json identity() const;
  // Lowercase hex BLAKE2b-256 of identity().dump() (keys sorted, no
  // whitespace): the same for the same parsed config and tensor bytes.
  std::string model_id() const;
  // identity() plus "model_id" (for people; recomputed on read) and "files".
  nlohmann::json to_json() const;
  // Throws Error naming `origin` and the field on a malformed manifest, or
  // when its "model_id" is not the digest of its content.
  static Manifest from_json(const nlohmann::json& j, const std::string& origin);
};

// Digest of block `block`: every tensor named `model.layers.<block>.*`, in
// name order, each as its name, dtype, shape and raw stored bytes. Throws
// Error naming the shard when one of them lies in a shard absent from the
// directory, or when the block has no tensor.
std::string block_digest(const Checkpoint& checkpoint, int block);

// Digest of the client-side tensors: `model.embed_tokens.weight`,
// `model.norm.weight` and, unless config.tie_word_embeddings,
// `lm_head.weight`. Throws like block_digest().
std::string head_digest(const Checkpoint& checkpoint, const ModelConfig& config);

// Hashes every block and the head, blocks spread over `threads` threads (0:
// one per core). The directory must hold every shard: throws Error naming the
// absent ones otherwise.
Manifest compute_manifest(const ModelConfig& config, const Checkpoint& checkpoint, int threads = 0);

// The shard files of the checkpoint in `dir` that are not there (a partial
// checkpoint), in name order.
std::vector<std::string> absent_shards(const std::filesystem::path& dir);

// Writes `manifest` to `dir`/brigade-manifest.json atomically (a temporary
// file renamed over it), so that concurrent readers see the old or the new
// file, never half of one. Throws Error naming the file when it cannot.
void write_manifest(const std::filesystem::path& dir, const Manifest& manifest);

// The manifest of the checkpoint in `dir`, computed on first use:
//  - dir/brigade-manifest.json is used as is when its config equals `config`
//    and every shard it recorded has the recorded size and mtime;
//  - else, when every shard is present, the manifest is computed (one process
//    at a time per directory; the others wait and read its result) and cached
//    (when the directory is not writable, it is kept in memory and logged);
//  - else (a partial checkpoint) the manifest in `dir` is taken as shipped
//    with the model when its config equals `config`; the tensors the process
//    uses must then be checked with verify_manifest().
// Throws Error "DIR lacks shards [...] and has no brigade-manifest.json" when
// the directory is partial and has no usable manifest, naming why it is not
// usable when one is there.
Manifest open_manifest(const std::filesystem::path& dir, const ModelConfig& config,
                       const Checkpoint& checkpoint);

// The parts of a checkpoint a process uses.
struct ManifestUse {
  bool head = false;       // embeddings, final norm, LM head (a client)
  int start = 0, end = 0;  // blocks [start, end) (a server)
};

// Hashes the parts in `use` (unless manifest.hashed_here) and compares them
// with `manifest`. Throws Error naming the directory, the manifest file and
// every block (and the head) whose digest differs, with both digests; or
// naming the shard when a used tensor's shard is absent.
void verify_manifest(const Manifest& manifest, const ModelConfig& config,
                     const Checkpoint& checkpoint, const ManifestUse& use);

// The model's name for people: config.json's "_name_or_path", or "" when it
// has none. Never part of the identity.
std::string model_name_of(const std::filesystem::path& dir);

// True when `text` is a digest as manifests and records spell it: 64
// lowercase hex digits.
bool is_digest_hex(std::string_view text);

}  // namespace brigade
