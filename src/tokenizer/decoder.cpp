#include "tokenizer/decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace brigade {

namespace {

std::string join(const std::vector<std::string>& tokens) {
  std::string text;
  for (const auto& token : tokens) text += token;
  return text;
}

// Byte-level characters back to bytes; a token with a character outside
// the alphabet (an added token such as "<|eot_id|>" is fine, a space is not)
// keeps its own UTF-8. Produces one string.
class ByteLevelDecoder : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, bool raw) const override {
    std::string bytes;
    for (const auto& token : tokens) {
      if (!byte_level::append_bytes(token, bytes)) bytes += token;
    }
    tokens.assign(1, raw ? std::move(bytes) : utf8::repair(bytes));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const TextPattern& pattern, std::string content)
      : regex_(pattern.text, !pattern.is_regex, "tokenizer.json: decoder Replace"),
        content_(std::move(content)) {}
  void decode(std::vector<std::string>& tokens, bool) const override {
    for (auto& token : tokens) token = regex_.replace_all(token, content_);
  }

 private:
  Regex regex_;
  std::string content_;
};

// <0xNN> tokens become their bytes; a run of them that is not valid UTF-8
// becomes one U+FFFD per byte (as Hugging Face does) unless raw.
class ByteFallbackDecoder : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, bool raw) const override {
    std::vector<std::string> out;
    std::string run;
    auto flush = [&] {
      if (run.empty()) return;
      if (raw || utf8::first_invalid(run) == std::string::npos) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
    };
    for (auto& token : tokens) {
      if (const int byte = byte_token(token); byte >= 0) {
        run += static_cast<char>(byte);
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int byte_token(const std::string& token) {
    if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return -1;
    int value = 0;
    for (char c : token.substr(3, 2)) {
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                               : -1;
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    return value;
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens, bool) const override {
    tokens.assign(1, join(tokens));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character
// from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode(std::vector<std::string>& tokens, bool) const override {
    for (auto& token : tokens) {
      size_t begin = 0, end = token.size();
      for (size_t i = 0; i < start_ && std::string_view(token).substr(begin).starts_with(content_);
           ++i)
        begin += content_.size();
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         std::string_view(token).substr(0, end).ends_with(content_);
           ++i)
        end -= content_.size();
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode(std::vector<std::string>& tokens, bool raw) const override {
    for (const auto& step : steps_) step->decode(tokens, raw);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

size_t count_field(const nlohmann::json& spec, const std::string& key) {
  const auto it = spec.find(key);
  require(it != spec.end() && it->is_number_unsigned(),
          "tokenizer.json: decoder Strip needs a non-negative integer '{}'", key);
  return it->get<size_t>();
}

}  // namespace

std::unique_ptr<Decoder> Decoder::parse(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = string_field(spec, "type", "decoder");
  // ByteLevel's options (add_prefix_space, trim_offsets, use_regex) only
  // matter for encoding and offsets, not for decoding.
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(pattern_field(spec, "decoder Replace"),
                                            string_field(spec, "content", "decoder Replace"));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const auto content = string_field(spec, "content", "decoder Strip");
    require(utf8::first_invalid(content) == std::string::npos && !content.empty() &&
                utf8::sequence_length(content, 0) == content.size(),
            "tokenizer.json: decoder Strip 'content' must be one character, got '{}'", content);
    return std::make_unique<StripDecoder>(content, count_field(spec, "start"),
                                          count_field(spec, "stop"));
  }
  if (type == "Sequence") {
    return std::make_unique<SequenceDecoder>(
        parse_steps<Decoder>(spec, "decoders", "decoder Sequence"));
  }
  fail(
      "tokenizer.json: decoder type '{}' is not supported (supported: ByteLevel, Replace, "
      "ByteFallback, Fuse, Strip, Sequence)",
      type);
}

}  // namespace brigade
