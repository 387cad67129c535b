#pragma once
// The `pre_tokenizer` of tokenizer.json: splits normalized text into words
// that the BPE model encodes one by one.
//
// Supported: Split (String or Regex pattern, behavior Isolated, invert
// false), ByteLevel (add_prefix_space, use_regex with GPT-2's pattern), and a
// Sequence of Splits optionally ending in ByteLevel; that covers Llama 3,
// Qwen2/3 and GPT-2. ByteLevel's byte-to-character mapping is not done
// here: byte_level() tells the model to start from bytes instead of
// characters, which gives the same ids without building mapped strings.
// Anything else is refused by name.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace brigade {

class PreTokenizer {
 public:
  // The pre-tokenizer `spec` describes (a JSON null splits nothing). Throws
  // Error naming the type or option it does not support.
  explicit PreTokenizer(const nlohmann::json& spec);
  ~PreTokenizer();

  // Appends the words of `text` to `words`. REQUIRES: `text` is valid UTF-8.
  void split(std::string_view text, std::vector<std::string>& words) const;

  // True when the last step is ByteLevel: words are to be encoded from their
  // bytes through the byte-level alphabet (byte_level.h).
  bool byte_level() const { return byte_level_; }

 private:
  // One splitting step: optionally put a space before each piece that does
  // not start with one (ByteLevel add_prefix_space), then cut each piece
  // at the matches of `regex` (if any), keeping matches and the text between
  // them as separate pieces (the Isolated behavior).
  struct Step {
    bool prefix_space = false;
    std::unique_ptr<Regex> regex;
  };
  void add(const nlohmann::json& spec);

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace brigade
