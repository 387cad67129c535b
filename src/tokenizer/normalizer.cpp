#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "tokenizer/json_fields.h"
#include "tokenizer/regex.h"
#include "util/error.h"

namespace brigade {

namespace {

// NFC or NFKC through utf8proc (its tables, not ours).
class UnicodeNormalizer : public Normalizer {
 public:
  UnicodeNormalizer(const std::string& name, int options) : name_(name), options_(options) {}
  void normalize(std::string& text) const override {
    if (text.empty()) return;
    utf8proc_uint8_t* out = nullptr;
    const auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                     static_cast<utf8proc_ssize_t>(text.size()), &out,
                                     static_cast<utf8proc_option_t>(options_ | UTF8PROC_STABLE));
    require(length >= 0, "tokenizer.json: {} normalization failed: {}", name_,
            utf8proc_errmsg(length));
    text.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(length));
    std::free(out);
  }

 private:
  std::string name_;
  int options_;
};

// Puts a fixed string before any non-empty text (Llama 2's "▁").
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// Replaces every match of a pattern (a literal string or a regex).
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(const TextPattern& pattern, std::string content)
      : regex_(pattern.text, !pattern.is_regex, "tokenizer.json: normalizer Replace"),
        content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = regex_.replace_all(text, content_); }

 private:
  Regex regex_;
  std::string content_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> Normalizer::parse(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string where = "normalizer";
  const std::string type = string_field(spec, "type", where);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(type, UTF8PROC_COMPOSE);
  if (type == "NFKC")
    return std::make_unique<UnicodeNormalizer>(type, UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(string_field(spec, "prepend", where));
  if (type == "Replace")
    return std::make_unique<ReplaceNormalizer>(pattern_field(spec, where),
                                               string_field(spec, "content", where));
  if (type == "Sequence") {
    return std::make_unique<SequenceNormalizer>(
        parse_steps<Normalizer>(spec, "normalizers", "normalizer Sequence"));
  }
  fail(
      "tokenizer.json: normalizer type '{}' is not supported (supported: NFC, NFKC, Prepend, "
      "Replace, Sequence)",
      type);
}

}  // namespace brigade
