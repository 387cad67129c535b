#pragma once
// Typed reads of tokenizer.json fields that fail with an Error naming the
// component and the field, so that every parser in this folder reports a bad
// or unsupported file the same way.

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace brigade {

// The JSON document in `path`; Error naming the file when it cannot be read
// or parsed.
nlohmann::json read_json_file(const std::filesystem::path& path);

// The string at `spec[key]`. `where` names the component ("normalizer",
// "pre_tokenizer Split") for the message.
std::string string_field(const nlohmann::json& spec, const std::string& key,
                         const std::string& where);
// The array at `spec[key]`.
const nlohmann::json& array_field(const nlohmann::json& spec, const std::string& key,
                                  const std::string& where);
// The boolean at `spec[key]`, or `fallback` when the key is absent or null.
bool bool_field(const nlohmann::json& spec, const std::string& key, bool fallback,
                const std::string& where);

// The components of a Sequence: T::parse of each element of `spec[key]`,
// leaving out nulls.
template <typename T>
std::vector<std::unique_ptr<T>> parse_steps(const nlohmann::json& spec, const std::string& key,
                                            const std::string& where) {
  std::vector<std::unique_ptr<T>> steps;
  for (const auto& step : array_field(spec, key, where)) {
    if (auto component = T::parse(step)) steps.push_back(std::move(component));
  }
  return steps;
}

// A tokenizer.json `pattern`: {"String": "..."} or {"Regex": "..."}.
struct TextPattern {
  std::string text;
  bool is_regex = false;
};
TextPattern pattern_field(const nlohmann::json& spec, const std::string& where);

}  // namespace brigade
