#include "net/tensor_codec.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "net/limits.h"
#include "util/error.h"

namespace brigade {

namespace {

constexpr std::pair<rpc::WireDType, DType> kWireDTypes[] = {
    {rpc::WIRE_F32, DType::F32},
    {rpc::WIRE_BF16, DType::BF16},
    {rpc::WIRE_F16, DType::F16},
};

std::optional<DType> find_wire(rpc::WireDType dtype) {
  for (const auto& [wire, local] : kWireDTypes)
    if (wire == dtype) return local;
  return std::nullopt;
}

}  // namespace

DType from_wire(rpc::WireDType dtype) {
  const auto local = find_wire(dtype);
  require(local.has_value(), "unknown wire dtype {}", static_cast<int>(dtype));
  return *local;
}

rpc::WireDType to_wire(DType dtype) {
  for (const auto& [wire, local] : kWireDTypes)
    if (local == dtype) return wire;
  fail("{} has no wire dtype", dtype_name(dtype));
}

size_t wire_dtype_size(rpc::WireDType dtype) { return dtype_size(from_wire(dtype)); }

rpc::WireDType parse_wire_dtype(const std::string& name) {
  const auto local = dtype_from_short_name(name);
  require(local.has_value(), "unknown wire dtype '{}' (expected f32, bf16 or f16)", name);
  return to_wire(*local);
}

const char* wire_dtype_name(rpc::WireDType dtype) {
  const auto local = find_wire(dtype);
  return local ? dtype_short_name(*local) : "unknown";
}

std::string encode_values(std::span<const float> values, rpc::WireDType dtype) {
  const DType local = from_wire(dtype);
  std::string out(values.size() * dtype_size(local), '\0');
  f32_to_dtype(local, values.data(), out.data(), values.size());
  return out;
}

std::vector<float> decode_values(const std::string& bytes, rpc::WireDType dtype) {
  const DType local = from_wire(dtype);
  const size_t width = dtype_size(local);
  require(bytes.size() % width == 0, "tensor data of {} bytes is not a whole number of {} values",
          bytes.size(), dtype_short_name(local));
  std::vector<float> out(bytes.size() / width);
  dtype_to_f32(local, bytes.data(), out.data(), out.size());
  return out;
}

std::vector<float> round_trip(std::span<const float> values, rpc::WireDType dtype) {
  return decode_values(encode_values(values, dtype), dtype);
}

int64_t WireTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

WireTensor make_wire_tensor(std::span<const float> values, std::vector<int64_t> shape,
                            rpc::WireDType dtype) {
  WireTensor tensor{std::move(shape), dtype, encode_values(values, dtype)};
  require(tensor.elements() == static_cast<int64_t>(values.size()),
          "tensor of {} values does not match its shape", values.size());
  return tensor;
}

namespace {

// Bytes of one token of one batch row of [batch, tokens, hidden].
size_t token_bytes(const WireTensor& t) {
  require(t.shape.size() == 3, "hidden states must be [batch, tokens, hidden], got {} dims",
          t.shape.size());
  return static_cast<size_t>(t.shape[2]) * wire_dtype_size(t.dtype);
}

}  // namespace

WireTensor concat_tokens(std::span<const WireTensor> parts) {
  require(!parts.empty(), "no hidden states to join");
  const WireTensor& first = parts.front();
  const size_t row = token_bytes(first);
  int64_t tokens = 0;
  for (const auto& p : parts) {
    require(token_bytes(p) == row && p.shape[0] == first.shape[0] && p.dtype == first.dtype,
            "hidden states to join differ in batch, width or dtype");
    tokens += p.shape[1];
  }
  WireTensor out{{first.shape[0], tokens, first.shape[2]}, first.dtype, {}};
  out.bytes.reserve(static_cast<size_t>(first.shape[0]) * tokens * row);
  for (int64_t b = 0; b < first.shape[0]; ++b) {
    for (const auto& p : parts) {
      const size_t n = static_cast<size_t>(p.shape[1]) * row;
      out.bytes.append(p.bytes, static_cast<size_t>(b) * n, n);
    }
  }
  return out;
}

WireTensor slice_tokens(const WireTensor& tensor, int64_t begin, int64_t count) {
  const size_t row = token_bytes(tensor);
  const int64_t tokens = tensor.shape[1];
  require(begin >= 0 && count >= 1 && begin + count <= tokens,
          "tokens [{}, {}) are not within hidden states of {} tokens", begin, begin + count,
          tokens);
  WireTensor out{{tensor.shape[0], count, tensor.shape[2]}, tensor.dtype, {}};
  for (int64_t b = 0; b < tensor.shape[0]; ++b) {
    out.bytes.append(tensor.bytes, (static_cast<size_t>(b) * tokens + begin) * row,
                     static_cast<size_t>(count) * row);
  }
  return out;
}

std::vector<rpc::TensorChunk> split_chunks(const WireTensor& tensor) {
  const size_t count =
      std::max<size_t>(1, (tensor.bytes.size() + limits::kChunkBytes - 1) / limits::kChunkBytes);
  std::vector<rpc::TensorChunk> chunks(count);
  for (size_t i = 0; i < count; ++i) {
    auto& chunk = chunks[i];
    if (i == 0) {
      for (int64_t d : tensor.shape) chunk.add_shape(d);
    }
    chunk.set_dtype(tensor.dtype);
    chunk.set_chunk_index(static_cast<uint32_t>(i));
    chunk.set_num_chunks(static_cast<uint32_t>(count));
    const size_t begin = i * limits::kChunkBytes;
    chunk.set_data(
        tensor.bytes.substr(begin, std::min(limits::kChunkBytes, tensor.bytes.size() - begin)));
  }
  return chunks;
}

bool ChunkAssembler::add(const rpc::TensorChunk& chunk) {
  require(chunk.dtype() == expected_dtype_, "tensor dtype {} differs from the session's {}",
          wire_dtype_name(chunk.dtype()), wire_dtype_name(expected_dtype_));
  require(chunk.chunk_index() == next_index_, "tensor chunk {} arrived where chunk {} was expected",
          chunk.chunk_index(), next_index_);
  if (next_index_ == 0) {
    require(chunk.num_chunks() >= 1, "tensor announces {} chunks", chunk.num_chunks());
    require(chunk.shape_size() == 3, "tensor has {} dimensions, expected 3 [batch, tokens, hidden]",
            chunk.shape_size());
    tensor_ = WireTensor{};
    tensor_.dtype = chunk.dtype();
    // Checked by division so that no product of hostile dimensions can
    // overflow, whatever max_bytes_ is.
    const int64_t max_elements = static_cast<int64_t>(std::min<size_t>(max_bytes_, INT64_MAX) /
                                                      wire_dtype_size(chunk.dtype()));
    int64_t elements = 1;
    for (int64_t d : chunk.shape()) {
      require(d > 0 && d <= (int64_t{1} << 31), "tensor dimension {} is out of range", d);
      require(d <= max_elements / elements, "tensor larger than the {} bytes this session allows",
              max_bytes_);
      elements *= d;
      tensor_.shape.push_back(d);
    }
    num_chunks_ = chunk.num_chunks();
  } else {
    require(chunk.num_chunks() == num_chunks_, "tensor chunk count changed from {} to {}",
            num_chunks_, chunk.num_chunks());
  }
  const size_t expected = static_cast<size_t>(tensor_.elements()) * wire_dtype_size(tensor_.dtype);
  require(tensor_.bytes.size() + chunk.data().size() <= expected,
          "tensor data exceeds the {} bytes its shape implies", expected);
  const bool last = next_index_ + 1 >= num_chunks_;

  if (pending_ != nullptr && !last) {
    // A tensor held in the buffer must keep coming: a trickle of small or
    // empty chunks, each in time for the stream's deadline, would hold its
    // bytes forever.
    const auto now = std::chrono::steady_clock::now();
    if (next_index_ == 0) started_ = now;
    const size_t full_chunks = (tensor_.bytes.size() + chunk.data().size()) / limits::kChunkBytes;
    if (pending_->pace().count() > 0 &&
        now - started_ > pending_->pace() * static_cast<int64_t>(1 + full_chunks)) {
      fail(ErrorKind::kRefused,
           "tensor arrives slower than one {}-byte chunk per {} ms: {} bytes in {} chunks so far",
           limits::kChunkBytes, pending_->pace().count(), tensor_.bytes.size(), next_index_);
    }
    if (!pending_->try_take(chunk.data().size())) {
      fail(ErrorKind::kRefused,
           "unfinished tensors hold {} of the {} bytes this server buffers for them: chunk {} of "
           "{} ({} bytes) refused; send smaller tensors or try again later",
           pending_->held(), pending_->capacity(), chunk.chunk_index(), num_chunks_,
           chunk.data().size());
    }
    pending_held_ += chunk.data().size();
  }
  tensor_.bytes += chunk.data();
  ++next_index_;
  if (!last) return false;
  give_back_pending();
  require(tensor_.bytes.size() == expected, "tensor data has {} bytes, its shape implies {}",
          tensor_.bytes.size(), expected);
  return true;
}

WireTensor ChunkAssembler::take() {
  next_index_ = 0;
  num_chunks_ = 0;
  return std::move(tensor_);
}

void ChunkAssembler::give_back_pending() {
  if (pending_ != nullptr && pending_held_ > 0) pending_->give_back(pending_held_);
  pending_held_ = 0;
}

bool PendingBytes::try_take(size_t bytes) {
  MutexLock lock(mutex_);
  if (bytes > capacity_ - held_) return false;
  held_ += bytes;
  return true;
}

void PendingBytes::give_back(size_t bytes) {
  MutexLock lock(mutex_);
  held_ -= bytes;
}

size_t PendingBytes::held() const {
  MutexLock lock(mutex_);
  return held_;
}

}  // namespace brigade
