#include "model/checkpoint.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"
#include "util/pages.h"

namespace brigade {

namespace fs = std::filesystem;

// ---- reading ----------------------------------------------------------------

struct Checkpoint::Mapping {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data != nullptr) munmap(const_cast<uint8_t*>(data), size);
  }
};

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

// Parses the header of one safetensors file: 8-byte little-endian length, then
// that many bytes of JSON mapping tensor names to dtype, shape and
// data_offsets relative to the end of the header.
std::vector<TensorInfo> read_header(const fs::path& path, const std::string& file) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "{}: cannot open safetensors file", path.string());
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  require(!ec, "{}: cannot stat: {}", path.string(), ec.message());
  require(file_size >= 8, "{}: truncated safetensors file ({} bytes, no header length)",
          path.string(), file_size);
  uint8_t length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  require(header_length <= file_size - 8,
          "{}: truncated safetensors file (header length {} but only {} bytes follow)",
          path.string(), header_length, file_size - 8);
  std::string header(header_length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_length));
  require(in.good(), "{}: cannot read the safetensors header", path.string());

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed safetensors header: {}", path.string(), e.what());
  }
  require(j.is_object(), "{}: malformed safetensors header: not a JSON object", path.string());

  const uint64_t data_start = 8 + header_length;
  std::vector<TensorInfo> tensors;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") continue;
    const auto where = fmt::format("{}: tensor '{}'", path.string(), name);
    require(entry.is_object() && entry.contains("dtype") && entry["dtype"].is_string() &&
                entry.contains("shape") && entry["shape"].is_array() &&
                entry.contains("data_offsets") && entry["data_offsets"].is_array() &&
                entry["data_offsets"].size() == 2,
            "{}: malformed header entry {}", where, entry.dump());
    TensorInfo info;
    info.name = name;
    info.file = file;
    const auto dtype = entry["dtype"].get<std::string>();
    const auto known = dtype_from_name(dtype);
    require(known.has_value(), "{}: unsupported dtype '{}' (supported: F32, F16, BF16)", where,
            dtype);
    info.dtype = *known;
    uint64_t elements = 1;
    for (const auto& dim : entry["shape"]) {
      require(dim.is_number_unsigned(), "{}: bad shape {}", where, entry["shape"].dump());
      info.shape.push_back(dim.get<int64_t>());
      elements *= dim.get<uint64_t>();
    }
    const auto& offsets = entry["data_offsets"];
    require(offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
            "{}: bad data_offsets {}", where, offsets.dump());
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    require(begin <= end && end <= file_size - data_start,
            "{}: data_offsets [{}, {}] lie outside the file's {} data bytes (truncated file?)",
            where, begin, end, file_size - data_start);
    info.offset = data_start + begin;
    info.nbytes = end - begin;
    require(info.nbytes == elements * dtype_size(info.dtype),
            "{}: {} bytes of data but shape {} of {} needs {}", where, info.nbytes,
            entry["shape"].dump(), dtype, elements * dtype_size(info.dtype));
    tensors.push_back(std::move(info));
  }
  return tensors;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

std::shared_ptr<const Checkpoint> Checkpoint::open(const fs::path& dir) {
  auto checkpoint = std::shared_ptr<Checkpoint>(new Checkpoint());
  checkpoint->dir_ = dir;
  std::vector<std::string> files;
  std::map<std::string, std::string> weight_map;  // tensor -> file, sharded only
  const auto index_path = dir / kIndexFile;
  if (fs::exists(index_path)) {
    std::ifstream in(index_path);
    require(in.good(), "{}: cannot open", index_path.string());
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON: {}", index_path.string(), e.what());
    }
    require(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
            "{}: missing object 'weight_map'", index_path.string());
    std::set<std::string> unique;
    for (const auto& [name, file] : j["weight_map"].items()) {
      require(file.is_string(), "{}: weight_map entry '{}' is not a file name", index_path.string(),
              name);
      const auto f = file.get<std::string>();
      // Shards must stay inside the checkpoint directory.
      require(f.find('/') == std::string::npos && f != "..",
              "{}: weight_map entry '{}' names a file outside the directory: '{}'",
              index_path.string(), name, f);
      weight_map[name] = f;
      if (unique.insert(f).second) files.push_back(f);
    }
  } else {
    require(fs::exists(dir / kSingleFile), "{}: no {} or {} (is it a model directory?)",
            dir.string(), kSingleFile, kIndexFile);
    files.push_back(kSingleFile);
  }
  for (const auto& file : files) {
    if (!weight_map.empty() && !fs::exists(dir / file)) {
      for (const auto& [name, f] : weight_map)
        if (f == file) checkpoint->absent_[name] = file;
      continue;
    }
    for (auto& info : read_header(dir / file, file)) {
      const auto name = info.name;
      require(!checkpoint->tensors_.count(name), "{}: tensor '{}' appears in two files",
              dir.string(), name);
      checkpoint->tensors_.emplace(name, std::move(info));
    }
  }
  require(!checkpoint->tensors_.empty() || checkpoint->absent_.empty(),
          "{}: none of the shards its index names is present (first: {})", dir.string(),
          files.empty() ? "" : files.front());
  return checkpoint;
}

Checkpoint::~Checkpoint() = default;

bool Checkpoint::has(const std::string& name) const { return tensors_.count(name) > 0; }

const TensorInfo& Checkpoint::info(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    const auto absent = absent_.find(name);
    require(absent == absent_.end(),
            "tensor '{}' is in shard {}, which is not in checkpoint {} (a partial checkpoint "
            "must hold the shards of the tensors this process uses)",
            name, absent == absent_.end() ? "" : absent->second, dir_.string());
    fail("missing tensor '{}' in checkpoint {}", name, dir_.string());
  }
  return it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

std::span<const uint8_t> Checkpoint::bytes(const std::string& name) const {
  const auto& t = info(name);
  const auto& mapping = map_file(t.file);
  // The header was validated against the file size at open; re-check in case
  // the file was truncated since.
  require(t.offset + t.nbytes <= mapping.size, "{}: tensor '{}' lies past the end of the file",
          (dir_ / t.file).string(), name);
  return {mapping.data + t.offset, static_cast<size_t>(t.nbytes)};
}

const Checkpoint::Mapping& Checkpoint::map_file(const std::string& file) const {
  std::lock_guard lock(mappings_mutex_);
  auto& mapping = mappings_[file];
  if (mapping) return *mapping;
  const auto path = (dir_ / file).string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  require(fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path, std::strerror(err));
  }
  void* data = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file alive
  require(data != MAP_FAILED, "{}: cannot mmap: {}", path, std::strerror(err));
  auto m = std::make_unique<Mapping>();
  m->data = static_cast<const uint8_t*>(data);
  m->size = static_cast<size_t>(st.st_size);
  mapping = std::move(m);
  return *mapping;
}

void Checkpoint::release(const std::string& name) const { release_pages(bytes(name)); }

const TensorInfo& Checkpoint::info(const std::string& name,
                                   const std::vector<int64_t>& expected_shape) const {
  const auto& t = info(name);
  require(t.shape == expected_shape, "{}: tensor '{}' has shape {}, expected {}",
          (dir_ / t.file).string(), name, shape_string(t.shape), shape_string(expected_shape));
  return t;
}

void Checkpoint::require_finite(const std::string& name) const {
  const auto& t = info(name);
  const size_t count = t.nbytes / dtype_size(t.dtype);
  const size_t at = first_non_finite(t.dtype, bytes(name).data(), count);
  require(at == count,
          "{}: tensor '{}' holds a NaN or infinity (element {} of {}): the checkpoint is damaged",
          (dir_ / t.file).string(), name, at, count);
}

std::vector<float> Checkpoint::load(const std::string& name,
                                    const std::vector<int64_t>& expected_shape) const {
  const auto& t = info(name, expected_shape);
  require_finite(name);
  const uint8_t* src = bytes(name).data();
  std::vector<float> out(t.nbytes / dtype_size(t.dtype));
  dtype_to_f32(t.dtype, src, out.data(), out.size());
  return out;
}

// ---- writing ----------------------------------------------------------------

namespace {

void write_one_file(const fs::path& path, const std::vector<const TensorToWrite*>& tensors,
                    DType dtype) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto* t : tensors) {
    uint64_t elements = 1;
    for (auto d : t->shape) elements *= static_cast<uint64_t>(d);
    require(elements == t->data.size(), "write_safetensors: tensor '{}' has {} values for shape {}",
            t->name, t->data.size(), shape_string(t->shape));
    const uint64_t nbytes = elements * dtype_size(dtype);
    header[t->name] = {{"dtype", dtype_name(dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  // Pad with spaces so that the data starts 8-byte aligned, as the reference
  // implementation does.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  require(out.good(), "{}: cannot create", path.string());
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(text.size() >> (8 * i));
  out.write(reinterpret_cast<const char*>(length), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<char> encoded;
  for (const auto* t : tensors) {
    encoded.resize(t->data.size() * dtype_size(dtype));
    f32_to_dtype(dtype, t->data.data(), encoded.data(), t->data.size());
    out.write(encoded.data(), static_cast<std::streamsize>(encoded.size()));
  }
  out.close();
  require(out.good(), "{}: write failed", path.string());
}

}  // namespace

void write_safetensors(const fs::path& dir, const std::vector<TensorToWrite>& tensors, DType dtype,
                       int shards) {
  require(shards >= 1 && static_cast<size_t>(shards) <= tensors.size(),
          "write_safetensors: {} shards for {} tensors (need 1 <= shards <= tensors)", shards,
          tensors.size());
  fs::create_directories(dir);
  if (shards == 1) {
    std::vector<const TensorToWrite*> all;
    for (const auto& t : tensors) all.push_back(&t);
    write_one_file(dir / kSingleFile, all, dtype);
    return;
  }
  // Split in order into shards of roughly equal bytes, each non-empty.
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.data.size() * dtype_size(dtype);
  std::vector<std::vector<const TensorToWrite*>> groups(shards);
  uint64_t written = 0;
  size_t next = 0;
  for (int s = 0; s < shards; ++s) {
    const size_t must_leave = static_cast<size_t>(shards - s - 1);  // one per later shard
    const uint64_t target = total * static_cast<uint64_t>(s + 1) / static_cast<uint64_t>(shards);
    do {
      groups[s].push_back(&tensors[next]);
      written += tensors[next].data.size() * dtype_size(dtype);
      ++next;
    } while (next < tensors.size() - must_leave && (written < target || s == shards - 1));
  }
  nlohmann::json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = nlohmann::json::object();
  for (int s = 0; s < shards; ++s) {
    const auto file = fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, shards);
    write_one_file(dir / file, groups[s], dtype);
    for (const auto* t : groups[s]) index["weight_map"][t->name] = file;
  }
  std::ofstream out(dir / kIndexFile, std::ios::trunc);
  out << index.dump(2) << "\n";
  require(out.good(), "{}: write failed", (dir / kIndexFile).string());
}

}  // namespace brigade
