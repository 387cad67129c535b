#pragma once
// Blocking calls run side by side: lookups and pings that mostly wait on the
// network, where one silent peer must cost one timeout in all, not one each.

#include <algorithm>
#include <cstddef>
#include <future>
#include <vector>

namespace brigade {

// f(0), ..., f(n - 1), each on a thread of its own, at most `width` at a time
// (a hostile list must not start a thread per entry); the results in order.
// A width of 0 counts as 1.
template <typename F>
auto parallel_map(size_t n, size_t width, F f) -> std::vector<decltype(f(size_t{0}))> {
  using Result = decltype(f(size_t{0}));
  width = std::max<size_t>(width, 1);
  std::vector<Result> out;
  out.reserve(n);
  for (size_t first = 0; first < n; first += width) {
    std::vector<std::future<Result>> running;
    for (size_t i = first; i < std::min(n, first + width); ++i) {
      running.push_back(std::async(std::launch::async, f, i));
    }
    for (auto& r : running) out.push_back(r.get());
  }
  return out;
}

}  // namespace brigade
