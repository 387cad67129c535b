#include "model/manifest.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "util/error.h"

namespace brigade {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "brigade-manifest-1";
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr size_t kDigestBytes = 32;
// Large updates keep BLAKE2b in its compression loop; the tensors are hashed
// straight from the memory map, so a chunk costs no copy.
constexpr size_t kChunkBytes = size_t{64} << 20;

// BLAKE2b-256 over length-prefixed fields, so that no two different
// sequences of fields hash the same bytes.
class Hasher {
 public:
  explicit Hasher(std::string_view domain) {
    static const bool ready = sodium_init() >= 0;  // picks the fastest BLAKE2b code
    require(ready, "libsodium failed to initialise");
    crypto_generichash_init(&state_, nullptr, 0, kDigestBytes);
    add(domain);
  }
  void add(uint64_t value) {
    uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    crypto_generichash_update(&state_, bytes, sizeof bytes);
  }
  void add(std::string_view text) {
    add(uint64_t{text.size()});
    crypto_generichash_update(&state_, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  void add(std::span<const uint8_t> bytes) {
    add(uint64_t{bytes.size()});
    for (size_t at = 0; at < bytes.size(); at += kChunkBytes) {
      crypto_generichash_update(&state_, bytes.data() + at,
                                std::min(kChunkBytes, bytes.size() - at));
    }
  }
  // One tensor: name, dtype, shape and raw stored bytes.
  void add_tensor(const Checkpoint& checkpoint, const std::string& name) {
    const TensorInfo& info = checkpoint.info(name);
    add(std::string_view(name));
    add(std::string_view(dtype_name(info.dtype)));
    add(uint64_t{info.shape.size()});
    for (const int64_t dim : info.shape) add(static_cast<uint64_t>(dim));
    add(checkpoint.bytes(name));
  }
  std::string hex() {
    uint8_t out[kDigestBytes];
    crypto_generichash_final(&state_, out, sizeof out);
    return fmt::format("{:02x}", fmt::join(out, ""));
  }

 private:
  crypto_generichash_state state_;
};

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  require(in.good(), "cannot read {}", path.string());
  require(fs::is_regular_file(path), "{} is not a regular file", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {  // JSON errors and I/O errors alike
    fail("{} is not valid JSON: {}", path.string(), e.what());
  }
}

// The index's weight_map (tensor -> shard file) of a sharded checkpoint;
// empty for a single-file one. Checkpoint::open has validated it.
std::map<std::string, std::string> weight_map(const fs::path& dir) {
  std::map<std::string, std::string> out;
  const auto index = dir / kIndexFile;
  if (!fs::exists(index)) return out;
  const auto j = read_json(index);
  require(j.contains("weight_map") && j["weight_map"].is_object(), "{}: no weight_map object",
          index.string());
  for (const auto& [name, file] : j["weight_map"].items()) {
    require(file.is_string(), "{}: weight_map entry '{}' is not a file name", index.string(), name);
    out[name] = file.get<std::string>();
  }
  return out;
}

std::vector<std::string> shard_files(const fs::path& dir) {
  const auto map = weight_map(dir);
  if (map.empty()) return {kSingleFile};
  std::set<std::string> files;
  for (const auto& [name, file] : map) files.insert(file);
  return {files.begin(), files.end()};
}

// Every tensor of the checkpoint, present or in an absent shard.
std::vector<std::string> all_tensor_names(const Checkpoint& checkpoint) {
  const auto map = weight_map(checkpoint.dir());
  if (map.empty()) return checkpoint.names();
  std::vector<std::string> names;
  for (const auto& [name, file] : map) names.push_back(name);
  return names;
}

std::vector<std::string> head_tensor_names(const ModelConfig& config) {
  std::vector<std::string> names = {"model.embed_tokens.weight", "model.norm.weight"};
  if (!config.tie_word_embeddings) names.push_back("lm_head.weight");
  std::sort(names.begin(), names.end());
  return names;
}

FileStamp stamp_of(const fs::path& path) {
  FileStamp stamp;
  stamp.size = fs::file_size(path);
  stamp.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       fs::last_write_time(path).time_since_epoch())
                       .count();
  return stamp;
}

// Runs task(i) for i in [0, count) on `threads` threads; rethrows the first
// failure once all have stopped.
template <typename Task>
void parallel_for(int count, int threads, const Task& task) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::max(1, std::min(threads, count));
  std::atomic<int> next{0};
  std::vector<std::exception_ptr> errors(threads);
  auto work = [&](int worker) {
    try {
      for (int i = next++; i < count; i = next++) task(i);
    } catch (...) {
      errors[worker] = std::current_exception();
      next = count;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// The first top-level field where two configs differ, for messages.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const auto& k : keys) {
    const auto va = a.contains(k) ? a[k] : nlohmann::json();
    const auto vb = b.contains(k) ? b[k] : nlohmann::json();
    if (va != vb)
      return fmt::format("'{}' is {} there, {} in config.json", k, va.dump(), vb.dump());
  }
  return "";
}

// The manifest in `dir` if it is there, well-formed and of `config`; else
// nullopt, with the reason in *unusable (empty when there is no file).
std::optional<Manifest> read_cached(const fs::path& dir, const ModelConfig& config,
                                    std::string* unusable) {
  const auto path = dir / kManifestFile;
  unusable->clear();
  if (!fs::exists(path)) return std::nullopt;
  try {
    Manifest manifest = Manifest::from_json(read_json(path), path.string());
    const auto expected = config.to_json();
    if (manifest.config != expected) {
      *unusable = fmt::format("{} describes another config: {}", path.string(),
                              first_difference(manifest.config, expected));
      return std::nullopt;
    }
    return manifest;
  } catch (const Error& e) {
    *unusable = e.what();
    return std::nullopt;
  }
}

// True when the manifest was computed from exactly these shards, unchanged
// since (absent shards of a partial checkpoint cannot be checked).
bool stamps_match(const Manifest& manifest, const fs::path& dir,
                  const std::vector<std::string>& shards) {
  if (manifest.files.size() != shards.size()) return false;
  for (const auto& file : shards) {
    const auto it = manifest.files.find(file);
    if (it == manifest.files.end()) return false;
    std::error_code error;
    if (!fs::exists(dir / file, error)) continue;
    if (!(stamp_of(dir / file) == it->second)) return false;
  }
  return true;
}

// An exclusive lock on the directory while one process computes its manifest,
// so that servers started together hash the checkpoint once. No lock (and
// no error) where the directory cannot be opened.
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_;
};

}  // namespace

bool is_digest_hex(std::string_view text) {
  return text.size() == 2 * kDigestBytes && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

nlohmann::json Manifest::identity() const {
  return {
      {"format", kFormat}, {"config", config}, {"blocks", block_digests}, {"head", head_digest}};
}

std::string Manifest::model_id() const {
  Hasher hasher("brigade-model-id");
  hasher.add(std::string_view(identity().dump()));
  return hasher.hex();
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json j = identity();
  j["model_id"] = model_id();
  j["files"] = nlohmann::json::object();
  for (const auto& [file, stamp] : files) {
    j["files"][file] = {{"size", stamp.size}, {"mtime_ns", stamp.mtime_ns}};
  }
  return j;
}

Manifest Manifest::from_json(const nlohmann::json& j, const std::string& origin) {
  Manifest m;
  try {
    require(j.is_object(), "{}: not a JSON object", origin);
    require(j.value("format", "") == kFormat, "{}: field 'format' is not \"{}\"", origin, kFormat);
    require(j.contains("config") && j["config"].is_object(), "{}: field 'config' is not an object",
            origin);
    m.config = j["config"];
    require(j.contains("blocks") && j["blocks"].is_array(), "{}: field 'blocks' is not an array",
            origin);
    for (const auto& d : j["blocks"]) {
      require(d.is_string() && is_digest_hex(d.get<std::string>()),
              "{}: block {} digest {} is not 64 lowercase hex digits", origin,
              m.block_digests.size(), d.dump());
      m.block_digests.push_back(d.get<std::string>());
    }
    const auto layers = m.config.value("num_hidden_layers", nlohmann::json());
    require(layers.is_number_integer() && layers.get<int64_t>() == m.num_blocks(),
            "{}: {} block digests for num_hidden_layers {}", origin, m.num_blocks(), layers.dump());
    require(
        j.contains("head") && j["head"].is_string() && is_digest_hex(j["head"].get<std::string>()),
        "{}: field 'head' is not 64 lowercase hex digits", origin);
    m.head_digest = j["head"].get<std::string>();
    if (j.contains("files")) {
      require(j["files"].is_object(), "{}: field 'files' is not an object", origin);
      for (const auto& [file, stamp] : j["files"].items()) {
        FileStamp s;
        s.size = stamp.at("size").get<uint64_t>();
        s.mtime_ns = stamp.at("mtime_ns").get<int64_t>();
        m.files[file] = s;
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed manifest: {}", origin, e.what());
  }
  if (j.contains("model_id")) {
    require(j["model_id"] == m.model_id(),
            "{}: its model_id {} is not the digest of its content ({}): the file was edited",
            origin, j["model_id"].dump(), m.model_id());
  }
  return m;
}

namespace {

// block_digest() over `names` (every tensor of the checkpoint, in name order).
std::string block_digest_of(const Checkpoint& checkpoint, const std::vector<std::string>& names,
                            int block) {
  const std::string prefix = fmt::format("model.layers.{}.", block);
  Hasher hasher("brigade-block");
  int tensors = 0;
  for (const auto& name : names) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    hasher.add_tensor(checkpoint, name);
    ++tensors;
  }
  require(tensors > 0, "checkpoint {} has no tensor of block {}", checkpoint.dir().string(), block);
  return hasher.hex();
}

}  // namespace

std::string block_digest(const Checkpoint& checkpoint, int block) {
  return block_digest_of(checkpoint, all_tensor_names(checkpoint), block);
}

std::string head_digest(const Checkpoint& checkpoint, const ModelConfig& config) {
  Hasher hasher("brigade-head");
  for (const auto& name : head_tensor_names(config)) hasher.add_tensor(checkpoint, name);
  return hasher.hex();
}

std::vector<std::string> absent_shards(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& file : shard_files(dir)) {
    if (!fs::exists(dir / file)) out.push_back(file);
  }
  return out;
}

Manifest compute_manifest(const ModelConfig& config, const Checkpoint& checkpoint, int threads) {
  const fs::path& dir = checkpoint.dir();
  const auto absent = absent_shards(dir);
  require(absent.empty(), "{} lacks shards [{}]: its manifest cannot be computed here",
          dir.string(), fmt::join(absent, ", "));
  Manifest m;
  m.config = config.to_json();
  // Stamps first: a shard rewritten while it is hashed then fails the check
  // next time, and the manifest is computed again.
  for (const auto& file : shard_files(dir)) m.files[file] = stamp_of(dir / file);
  const int blocks = config.num_hidden_layers;
  m.block_digests.resize(blocks);
  const auto names = all_tensor_names(checkpoint);
  // The head (embeddings and LM head: often the largest task) goes first,
  // so that the threads finish together.
  parallel_for(blocks + 1, threads, [&](int i) {
    if (i == 0) {
      m.head_digest = head_digest(checkpoint, config);
    } else {
      m.block_digests[i - 1] = block_digest_of(checkpoint, names, i - 1);
    }
  });
  m.hashed_here = true;
  return m;
}

void write_manifest(const fs::path& dir, const Manifest& manifest) {
  const auto path = dir / kManifestFile;
  const auto temp = dir / fmt::format(".{}.{}.tmp", kManifestFile, ::getpid());
  {
    std::ofstream out(temp, std::ios::trunc);
    require(out.good(), "cannot write {}", temp.string());
    out << manifest.to_json().dump(2) << "\n";
    out.close();
    require(out.good(), "cannot write {}", temp.string());
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) {
    const std::string why = error.message();
    fs::remove(temp, error);
    fail("cannot write {}: {}", path.string(), why);
  }
}

Manifest open_manifest(const fs::path& dir, const ModelConfig& config,
                       const Checkpoint& checkpoint) {
  std::string unusable;
  auto cached = read_cached(dir, config, &unusable);
  const auto shards = shard_files(dir);
  if (cached && stamps_match(*cached, dir, shards)) return *cached;
  const auto absent = absent_shards(dir);
  if (absent.empty()) {
    DirectoryLock lock(dir);
    // Another process may have computed it while this one waited.
    cached = read_cached(dir, config, &unusable);
    if (cached && stamps_match(*cached, dir, shards)) return *cached;
    if (!unusable.empty()) spdlog::info("recomputing the manifest: {}", unusable);
    const auto began = std::chrono::steady_clock::now();
    Manifest manifest = compute_manifest(config, checkpoint);
    spdlog::info("manifest of {} computed in {:.2f} s: model id {}", dir.string(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
                 manifest.model_id());
    try {
      write_manifest(dir, manifest);
    } catch (const Error& e) {
      spdlog::warn("{}; keeping the manifest in memory", e.what());
    }
    return manifest;
  }
  // A partial checkpoint: the manifest must have come with the model. The
  // caller checks the tensors it uses against it (verify_manifest).
  if (cached) return *cached;
  fail("{} lacks shards [{}] and has no {}{}", dir.string(), fmt::join(absent, ", "), kManifestFile,
       unusable.empty() ? "" : fmt::format(" it can use ({})", unusable));
}

void verify_manifest(const Manifest& manifest, const ModelConfig& config,
                     const Checkpoint& checkpoint, const ManifestUse& use) {
  if (manifest.hashed_here) return;
  require(manifest.num_blocks() == config.num_hidden_layers,
          "the manifest of {} has {} blocks, config.json {}", checkpoint.dir().string(),
          manifest.num_blocks(), config.num_hidden_layers);
  require(0 <= use.start && use.start <= use.end && use.end <= manifest.num_blocks(),
          "blocks [{}, {}) are not a span of the model's {} blocks", use.start, use.end,
          manifest.num_blocks());
  const int blocks = use.end - use.start;
  std::vector<std::string> digests(blocks + (use.head ? 1 : 0));
  const auto names = all_tensor_names(checkpoint);
  parallel_for(static_cast<int>(digests.size()), 0, [&](int i) {
    digests[i] = i == blocks ? head_digest(checkpoint, config)
                             : block_digest_of(checkpoint, names, use.start + i);
  });
  std::vector<std::string> differing, details;
  for (int i = 0; i < blocks; ++i) {
    const int b = use.start + i;
    if (digests[i] == manifest.block_digests[b]) continue;
    differing.push_back(fmt::format("block {}", b));
    details.push_back(fmt::format("block {}: digest {} != manifest {}", b, digests[i],
                                  manifest.block_digests[b]));
  }
  if (use.head && digests[blocks] != manifest.head_digest) {
    differing.push_back("the embeddings, final norm and LM head");
    details.push_back(
        fmt::format("head: digest {} != manifest {}", digests[blocks], manifest.head_digest));
  }
  require(differing.empty(),
          "the weights of {} in {} differ from its {}, which belongs to other weights ({})",
          fmt::join(differing, ", "), checkpoint.dir().string(), kManifestFile,
          fmt::join(details, "; "));
}

std::string model_name_of(const fs::path& dir) {
  const auto j = read_json(dir / "config.json");
  if (j.is_object() && j.contains("_name_or_path") && j["_name_or_path"].is_string()) {
    return j["_name_or_path"].get<std::string>();
  }
  return "";
}

}  // namespace brigade
