#include "kernels/weight_arena.h"

#include <algorithm>

namespace brigade::kernels {
namespace {
// Large enough that a model's matrices share a few chunks; a chunk's untouched
// tail is never resident, so the rounding costs address space, not memory.
constexpr size_t kChunk = size_t{64} << 20;
constexpr size_t kAlign = 64;
}  // namespace

WeightArena& WeightArena::global() {
  static WeightArena arena;
  return arena;
}

std::shared_ptr<uint8_t> WeightArena::allocate(size_t bytes) {
  const size_t rounded = (bytes + kAlign - 1) & ~(kAlign - 1);
  std::lock_guard<std::mutex> lock(mu_);
  if (!chunk_ || used_ + rounded > chunk_->size()) {
    // A matrix larger than a chunk gets a chunk of its own size.
    chunk_ = std::make_shared<AnonymousBuffer>(std::max(kChunk, rounded));
    used_ = 0;
  }
  uint8_t* slice = chunk_->data() + used_;
  used_ += rounded;
  // Shares ownership of the chunk, points at the slice.
  return std::shared_ptr<uint8_t>(chunk_, slice);
}

}  // namespace brigade::kernels
