#include "tokenizer/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "util/error.h"

namespace brigade {

namespace {

std::optional<std::string> token_field(const nlohmann::json& config, const char* key,
                                       const std::string& file) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  require(it->is_object() && it->contains("content") && (*it)["content"].is_string(),
          "{}: '{}' must be a string or an object with a string 'content'", file, key);
  return (*it)["content"].get<std::string>();
}

std::optional<bool> flag_field(const nlohmann::json& config, const char* key,
                               const std::string& file) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  require(it->is_boolean(), "{}: '{}' must be true or false", file, key);
  return it->get<bool>();
}

}  // namespace

TokenizerConfig TokenizerConfig::read(const std::filesystem::path& dir) {
  TokenizerConfig result;
  const auto path = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(path)) return result;
  const std::string file = path.string();
  const auto config = read_json_file(path);
  require(config.is_object(), "{}: not a JSON object", file);
  result.bos_token = token_field(config, "bos_token", file);
  result.eos_token = token_field(config, "eos_token", file);
  result.add_bos_token = flag_field(config, "add_bos_token", file);
  result.add_eos_token = flag_field(config, "add_eos_token", file);
  result.clean_up_tokenization_spaces =
      flag_field(config, "clean_up_tokenization_spaces", file).value_or(false);
  require(!flag_field(config, "split_special_tokens", file).value_or(false),
          "{}: split_special_tokens=true is not supported", file);
  return result;
}

}  // namespace brigade
