#include "cli/config_file.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "util/error.h"

namespace brigade::cli {
namespace {

// The value as the command line would spell it.
std::string flag_text(const toml::node& value, const std::string& where) {
  if (const auto* s = value.as_string()) return s->get();
  if (const auto* i = value.as_integer()) return std::to_string(i->get());
  if (const auto* f = value.as_floating_point()) return fmt::format("{}", f->get());
  if (const auto* b = value.as_boolean()) return b->get() ? "true" : "false";
  fail("{}: only strings, numbers and booleans are flag values", where);
}

}  // namespace

void apply_config_file(CLI::App& command, const std::filesystem::path& path) {
  toml::table table;
  try {
    table = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    fail("--config {}: not a TOML file: {} (line {})", path.string(), e.description(),
         e.source().begin.line);
  }
  for (const auto& [key, value] : table) {
    const std::string name(key.str());
    const std::string where = fmt::format("--config {}: key '{}' (line {})", path.string(), name,
                                          key.source().begin.line);
    CLI::Option* option = command.get_option_no_throw("--" + name);
    require(option != nullptr && name != "config" && name != "help",
            "{} is no flag of `brigade {}`", where, command.get_name());
    if (option->count() > 0) continue;  // the command line wins
    try {
      option->add_result(flag_text(value, where));
      option->run_callback();
    } catch (const CLI::Error& e) {
      fail("{}: {}", where, e.what());
    }
  }
}

}  // namespace brigade::cli
