#pragma once
// Read access to a Hugging Face safetensors checkpoint: `model.safetensors`
// or a sharded `model.safetensors.index.json` + shards. Files are memory
// mapped and only the bytes of tensors that are actually loaded are touched,
// so a server that loads 2 blocks of 32 pays for 2 blocks.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/half.h"

namespace brigade {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string file;     // shard file name, relative to the checkpoint dir
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t nbytes = 0;
};

class Checkpoint : public std::enable_shared_from_this<Checkpoint> {
 public:
  // Reads headers only (index json and each shard's safetensors header).
  // Throws Error naming the file on a missing file, a truncated or malformed
  // header, an unsupported dtype or a tensor whose data lies past the file end.
  // A sharded checkpoint may lack shards (a client needs only the shards with
  // the embeddings, final norm and LM head; a server only its blocks'): their
  // tensors are known by name, and asking for one throws an Error naming the
  // missing shard.
  static std::shared_ptr<const Checkpoint> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  bool has(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws naming the tensor
  // The same, and throws naming file and tensor when its shape differs from
  // `expected_shape`.
  const TensorInfo& info(const std::string& name, const std::vector<int64_t>& expected_shape) const;

  // Names of every tensor whose shard is present, in name order.
  std::vector<std::string> names() const;

  // The tensor's bytes exactly as stored in the file (its dtype, little
  // endian), straight from the memory map: no copy. Valid while this
  // Checkpoint lives. Throws like info(), or when the tensor lies past the end
  // of the file as it was when first mapped. (A file truncated after that
  // faults when read: checkpoints must not change while in use.)
  std::span<const uint8_t> bytes(const std::string& name) const;

  // Gives the pages of the tensor's bytes back to the kernel (they stay
  // mapped and are read again from the file if touched): for tensors that
  // were copied, such as weights quantized at load, so that a process does
  // not hold both copies.
  void release(const std::string& name) const;

  // Throws Error naming the tensor, its file and the element when `name`
  // holds a NaN or an infinity: weights like that compute garbage, so they
  // are refused at load (load() and the weight matrices check every tensor).
  void require_finite(const std::string& name) const;

  // Loads `name` converted to f32. Throws Error naming file and tensor when
  // the tensor is missing or its shape differs from `expected_shape`.
  std::vector<float> load(const std::string& name,
                          const std::vector<int64_t>& expected_shape) const;

  ~Checkpoint();

 private:
  struct Mapping;
  std::filesystem::path dir_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> absent_;  // tensor -> shard file not in dir_
  mutable std::map<std::string, std::unique_ptr<Mapping>> mappings_;  // by file, opened lazily
  mutable std::mutex mappings_mutex_;  // load() may run on several threads
  const Mapping& map_file(const std::string& file) const;
};

// A tensor to write with write_safetensors; `data` is f32 and is converted to
// `dtype` on write.
struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Writes tensors as one or more safetensors shards into `dir`
// (`model.safetensors`, or `model-0000k-of-0000n.safetensors` plus
// `model.safetensors.index.json` when shards > 1).
void write_safetensors(const std::filesystem::path& dir, const std::vector<TensorToWrite>& tensors,
                       DType dtype, int shards);

}  // namespace brigade
