#pragma once
// The `normalizer` of tokenizer.json: rewrites text before pre-tokenization.
// Supported types: NFC, NFKC (utf8proc), Prepend, Replace (String or Regex
// pattern), Sequence. Any other type is refused by name.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace brigade {

class Normalizer {
 public:
  // Builds the normalizer that `spec` describes; nullptr for a JSON null.
  // Throws Error naming the type or field it does not support.
  static std::unique_ptr<Normalizer> parse(const nlohmann::json& spec);
  virtual ~Normalizer() = default;
  // Rewrites `text` in place. REQUIRES: `text` is valid UTF-8.
  virtual void normalize(std::string& text) const = 0;
};

}  // namespace brigade
