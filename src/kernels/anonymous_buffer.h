#pragma once
// Zeroed anonymous memory for quantized weights: its own mapping (so that
// freeing it gives the pages back to the system at once), aligned to 2 MiB
// and marked for transparent huge pages, because the kernels stream through
// it once per token and 4 KiB pages would cost a TLB miss every 4 KiB.

#include <cstddef>
#include <cstdint>

namespace brigade::kernels {

class AnonymousBuffer {
 public:
  // Throws Error when the system refuses the memory.
  explicit AnonymousBuffer(size_t bytes);
  ~AnonymousBuffer();
  AnonymousBuffer(const AnonymousBuffer&) = delete;
  AnonymousBuffer& operator=(const AnonymousBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
};

}  // namespace brigade::kernels
