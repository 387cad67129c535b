#pragma once
// The one error type of Brigade. Every failure that a user or a peer can cause
// is reported as an Error whose message names what failed and where (file,
// tensor, peer, session, block, position), so that a message printed at the
// top level is enough to act on without a debugger.

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace brigade {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws an Error built from a fmt format string.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws an Error when `condition` is false. Use for checks on input that
// came from outside the process (files, flags, peers), never for internal
// invariants.
template <typename... Args>
void require(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) fail(format, std::forward<Args>(args)...);
}

}  // namespace brigade
