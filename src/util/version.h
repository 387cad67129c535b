#pragma once
// The version a server announces and reports in Info.
namespace brigade {
inline constexpr const char* kVersion = "brigade/0.3.0";
}  // namespace brigade
