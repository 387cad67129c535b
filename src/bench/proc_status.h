#pragma once
// Memory figures of a process from /proc/<pid>/status, for the benchmarks.

#include <cstdint>
#include <string>

namespace brigade::bench {

// The value in KiB of `field` ("VmRSS", "VmHWM", ...) of process `pid`
// ("self" for this one). Throws Error when the process or field is missing.
int64_t proc_status_kib(const std::string& pid, const std::string& field);

}  // namespace brigade::bench
