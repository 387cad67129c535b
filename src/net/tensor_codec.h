#pragma once
// Hidden states on the wire: f32 tensors encoded at the session's wire dtype
// (f32, bf16 or f16), split into chunks no larger than limits::kChunkBytes, and
// reassembled with every field checked against what the receiver expects.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "brigade.pb.h"
#include "kernels/dtype.h"
#include "net/limits.h"
#include "util/thread_annotations.h"

namespace brigade {

// The wire's dtype enum and DType (kernels/dtype.h), converted here only.
// from_wire throws Error "unknown wire dtype <n>" for a value outside the
// enum: a peer may send any number.
DType from_wire(rpc::WireDType dtype);
rpc::WireDType to_wire(DType dtype);

// DType's size, short name and parsing for wire values.
size_t wire_dtype_size(rpc::WireDType dtype);  // throws like from_wire
// "f32" | "bf16" | "f16"; throws Error "unknown wire dtype '<name>'" otherwise.
rpc::WireDType parse_wire_dtype(const std::string& name);
const char* wire_dtype_name(rpc::WireDType dtype);  // "unknown" outside the enum

// `values` encoded at `dtype`, little endian.
std::string encode_values(std::span<const float> values, rpc::WireDType dtype);
// Throws Error when `bytes` is not a whole number of elements.
std::vector<float> decode_values(const std::string& bytes, rpc::WireDType dtype);

// Values after a round trip through the wire dtype (what the receiver sees).
std::vector<float> round_trip(std::span<const float> values, rpc::WireDType dtype);

struct WireTensor {
  std::vector<int64_t> shape;
  rpc::WireDType dtype = rpc::WIRE_F32;
  std::string bytes;  // encoded values, the unit that digests cover

  int64_t elements() const;
  std::vector<float> values() const { return decode_values(bytes, dtype); }
};

WireTensor make_wire_tensor(std::span<const float> values, std::vector<int64_t> shape,
                            rpc::WireDType dtype);

// Hidden states [batch, tokens, hidden] joined along tokens: each batch row
// of the result is the rows of `parts` one after another. A client replays a
// history of steps as one step this way. Throws Error when `parts` is empty
// or the parts differ in batch, width or dtype.
WireTensor concat_tokens(std::span<const WireTensor> parts);
// Tokens [begin, begin + count) of every batch row of [batch, tokens,
// hidden]; throws Error when they are not within the tensor.
WireTensor slice_tokens(const WireTensor& tensor, int64_t begin, int64_t count);

// Splits a tensor into chunks of at most limits::kChunkBytes of data.
std::vector<rpc::TensorChunk> split_chunks(const WireTensor& tensor);

// Bytes of unfinished tensors held at once, shared by every ChunkAssembler
// that names it: a peer that starts tensors and never finishes them cannot
// make the receiver hold more than this, however many streams it opens. With
// a `pace`, a tensor held here must also keep arriving at one full chunk
// (limits::kChunkBytes) per `pace` on average, or it is refused: a trickle
// of small chunks would otherwise hold its bytes for as long as it likes.
class PendingBytes {
 public:
  explicit PendingBytes(size_t capacity, std::chrono::milliseconds pace = {})
      : capacity_(capacity), pace_(pace) {}
  // False (taking nothing) when `bytes` more would pass the capacity.
  bool try_take(size_t bytes);
  void give_back(size_t bytes);
  size_t held() const;
  size_t capacity() const { return capacity_; }
  std::chrono::milliseconds pace() const { return pace_; }

 private:
  const size_t capacity_;
  const std::chrono::milliseconds pace_;
  mutable Mutex mutex_;
  size_t held_ BRIGADE_GUARDED_BY(mutex_) = 0;
};

// Reassembles chunks as they arrive. add() returns true when the tensor is
// complete. Throws Error on out-of-order chunks, a changed chunk count, a
// dtype other than `expected_dtype`, a byte count that disagrees with the
// shape, or more than `max_bytes` of data: a peer cannot make us allocate
// more than the session allows.
//
// With `pending`, the data of a tensor still waiting for later chunks is
// counted there until the tensor completes or the assembler is destroyed; a
// chunk that does not fit is refused with an Error of kind kRefused. A
// tensor's last chunk (a whole tensor in one message, too) never counts: it
// is not left waiting.
class ChunkAssembler {
 public:
  // REQUIRES: `pending`, when given, outlives the assembler.
  ChunkAssembler(rpc::WireDType expected_dtype, size_t max_bytes, PendingBytes* pending = nullptr)
      : expected_dtype_(expected_dtype), max_bytes_(max_bytes), pending_(pending) {}
  ~ChunkAssembler() { give_back_pending(); }
  ChunkAssembler(const ChunkAssembler&) = delete;
  ChunkAssembler& operator=(const ChunkAssembler&) = delete;

  bool add(const rpc::TensorChunk& chunk);
  WireTensor take();  // REQUIRES: add() returned true

 private:
  void give_back_pending();

  rpc::WireDType expected_dtype_;
  size_t max_bytes_;
  PendingBytes* pending_;
  size_t pending_held_ = 0;                        // this tensor's bytes counted in *pending_
  std::chrono::steady_clock::time_point started_;  // its first chunk
  uint32_t next_index_ = 0;
  uint32_t num_chunks_ = 0;
  WireTensor tensor_;
};

}  // namespace brigade
