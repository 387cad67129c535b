#pragma once
// Hidden states on the wire: f32 tensors encoded at the session's wire dtype
// (f32, bf16 or f16), split into chunks no larger than limits::kChunkBytes, and
// reassembled with every field checked against what the receiver expects.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "brigade.pb.h"
#include "kernels/dtype.h"
#include "net/limits.h"

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

// Splits a tensor into chunks of at most limits::kChunkBytes of data.
std::vector<rpc::TensorChunk> split_chunks(const WireTensor& tensor);

// Reassembles chunks as they arrive. add() returns true when the tensor is
// complete. Throws Error on out-of-order chunks, a changed chunk count, a
// dtype other than `expected_dtype`, a byte count that disagrees with the
// shape, or more than `max_bytes` of data: a peer cannot make us allocate
// more than the session allows.
class ChunkAssembler {
 public:
  ChunkAssembler(rpc::WireDType expected_dtype, size_t max_bytes)
      : expected_dtype_(expected_dtype), max_bytes_(max_bytes) {}
  bool add(const rpc::TensorChunk& chunk);
  WireTensor take();  // REQUIRES: add() returned true

 private:
  rpc::WireDType expected_dtype_;
  size_t max_bytes_;
  uint32_t next_index_ = 0;
  uint32_t num_chunks_ = 0;
  WireTensor tensor_;
};

}  // namespace brigade
