#include "util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>

namespace brigade {

void init_logging(const std::string& name) {
  const std::string logger_name = name.empty() ? "brigade" : name;
  // spdlog refuses a second logger of one name: reuse it.
  auto logger = spdlog::get(logger_name);
  if (!logger) logger = spdlog::stderr_color_mt(logger_name);
  const char* level = std::getenv("BRIGADE_LOG");
  logger->set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
  logger->set_pattern("[%H:%M:%S.%e] [%n] [%l] %v");
  spdlog::set_default_logger(logger);
}

}  // namespace brigade
