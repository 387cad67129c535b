#pragma once
// Giving memory-mapped pages back to the kernel.

#include <cstdint>
#include <span>

namespace brigade {

// MADV_DONTNEED on the whole pages inside `bytes` (the partial pages at its
// ends may hold neighbours still in use). For read-only file mappings: the
// pages are dropped from the process and read again from the file if touched.
void release_pages(std::span<const uint8_t> bytes);

}  // namespace brigade
