#pragma once
// The one error type of Brigade. Every failure that a user or a peer can cause
// is reported as an Error whose message names what failed and where (file,
// tensor, peer, session, block, position), so that a message printed at the
// top level is enough to act on without a debugger, and whose kind says what
// to do about it.

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace brigade {

// What kind of failure an Error is: it decides what a server answers (the
// gRPC status code) and how long a client avoids the peer that caused it.
enum class ErrorKind {
  kInvalid,      // malformed or out-of-range input: a file, a flag, a request
  kRefused,      // a valid request that cannot be taken now (cache full, shutting down)
  kUnavailable,  // a peer that cannot be reached or did not answer in time
  kMisbehaved,   // a peer proven wrong: bad signature, false data, inconsistent digests
};

const char* error_kind_name(ErrorKind kind);  // "invalid" | "refused" | ...

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::kInvalid)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Throws an Error built from a fmt format string.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws an Error of `kind` built from a fmt format string.
template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...), kind);
}

// Throws an Error when `condition` is false. Use for checks on input that
// came from outside the process (files, flags, peers), never for internal
// invariants.
template <typename... Args>
void require(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) fail(format, std::forward<Args>(args)...);
}

}  // namespace brigade
