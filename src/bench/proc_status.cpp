#include "bench/proc_status.h"

#include <fstream>

#include "util/error.h"

namespace brigade::bench {

int64_t proc_status_kib(const std::string& pid, const std::string& field) {
  std::ifstream status("/proc/" + pid + "/status");
  const std::string prefix = field + ":";
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
  }
  fail("no {} for process {} (is it running?)", field, pid);
}

}  // namespace brigade::bench
