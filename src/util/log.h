#pragma once
// One logging setup for every binary: spdlog to stderr, level from the
// BRIGADE_LOG environment variable (trace|debug|info|warn|error|off; default
// warn so that `--json` output on stdout stays clean and stderr stays quiet).

#include <spdlog/spdlog.h>

namespace brigade {

// Idempotent. `name` prefixes every line (for example "server:127.0.0.1:7001")
// so that interleaved logs of a local swarm stay readable.
void init_logging(const std::string& name);

}  // namespace brigade
