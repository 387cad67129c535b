#pragma once
// Where quantized weights live: slices of large anonymous chunks marked for
// transparent huge pages. A model's matrices are small (a 1024 x 1024 int4
// matrix is 576 KiB), and one buffer each would leave them on 4 KiB pages:
// the kernels stream through every matrix once per token, and each 4 KiB page
// then costs a TLB miss and stops the hardware prefetcher (measured: int4
// decode ran at about 21 GB/s on small buffers against 30 GB/s in huge pages).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "kernels/anonymous_buffer.h"

namespace brigade::kernels {

class WeightArena {
 public:
  // The process's arena for quantized weights.
  static WeightArena& global();

  // `bytes` of zeroed memory, 64-byte aligned. A chunk goes back to the
  // system when the last slice cut from it is freed (and a newer chunk has
  // taken its place for new slices). Thread-safe.
  std::shared_ptr<uint8_t> allocate(size_t bytes);

 private:
  std::mutex mu_;
  std::shared_ptr<AnonymousBuffer> chunk_;  // where new slices are cut
  size_t used_ = 0;                         // bytes of chunk_ handed out
};

}  // namespace brigade::kernels
