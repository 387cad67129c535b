#include "kernels/anonymous_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace brigade::kernels {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

AnonymousBuffer::AnonymousBuffer(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  // Huge pages only over whole 2 MiB pages of the buffer: rounding a small
  // matrix up to a huge page would cost more memory than it saves time.
  const bool huge = bytes >= kHugePage;
  // Over-allocate by one huge page to align the start.
  mapping_size_ = huge ? bytes + kHugePage : bytes;
  mapping_ =
      mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  require(mapping_ != MAP_FAILED, "cannot allocate {} bytes for quantized weights: {}", bytes,
          std::strerror(errno));
  const auto base = reinterpret_cast<uintptr_t>(mapping_);
  data_ = reinterpret_cast<uint8_t*>(huge ? (base + kHugePage - 1) & ~(kHugePage - 1) : base);
  // Advice only: without transparent huge pages the buffer works as is.
  if (huge) madvise(data_, bytes & ~(kHugePage - 1), MADV_HUGEPAGE);
}

AnonymousBuffer::~AnonymousBuffer() {
  if (mapping_ != nullptr && mapping_ != MAP_FAILED) munmap(mapping_, mapping_size_);
}

}  // namespace brigade::kernels
