#include "tokenizer/json_fields.h"

#include <fstream>

#include "util/error.h"

namespace brigade {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  require(in.good(), "{}: cannot open", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", path.string(), e.what());
  }
}

std::string string_field(const nlohmann::json& spec, const std::string& key,
                         const std::string& where) {
  const auto it = spec.find(key);
  require(it != spec.end() && it->is_string(), "tokenizer.json: {} needs a string '{}'", where,
          key);
  return it->get<std::string>();
}

const nlohmann::json& array_field(const nlohmann::json& spec, const std::string& key,
                                  const std::string& where) {
  const auto it = spec.find(key);
  require(it != spec.end() && it->is_array(), "tokenizer.json: {} needs an array '{}'", where, key);
  return *it;
}

bool bool_field(const nlohmann::json& spec, const std::string& key, bool fallback,
                const std::string& where) {
  const auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return fallback;
  require(it->is_boolean(), "tokenizer.json: {} field '{}' must be true or false", where, key);
  return it->get<bool>();
}

TextPattern pattern_field(const nlohmann::json& spec, const std::string& where) {
  const auto it = spec.find("pattern");
  require(it != spec.end() && it->is_object(),
          "tokenizer.json: {} needs a 'pattern' object ({{\"String\": ...}} or {{\"Regex\": ...}})",
          where);
  if (it->contains("Regex")) return {string_field(*it, "Regex", where + " pattern"), true};
  return {string_field(*it, "String", where + " pattern"), false};
}

}  // namespace brigade
