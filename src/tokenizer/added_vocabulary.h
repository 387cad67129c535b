#pragma once
// The `added_tokens` of tokenizer.json: strings (special tokens such as
// <|eot_id|>, and others) that are cut out of the text before normalization
// and pre-tokenization and become their own id, never split.
//
// As in Hugging Face tokenizers: tokens with normalized=false are matched in
// the raw text, those with normalized=true in the normalized text; at each
// position the leftmost, then longest, token wins; lstrip / rstrip make the
// match swallow the whitespace before / after it. single_word=true is
// refused.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace brigade {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;     // skipped by decode(skip_special_tokens)
  bool lstrip = false;      // the match also takes the whitespace before it
  bool rstrip = false;      // ... and after it
  bool normalized = false;  // matched in the normalized text, not the raw text
};

// A piece of text after cutting out the added tokens: either an added
// token (id set) or text still to encode.
struct TextSegment {
  std::string text;
  std::optional<int32_t> id;
};

class AddedVocabulary {
 public:
  // Reads the `added_tokens` array. Throws Error naming a bad or refused entry.
  explicit AddedVocabulary(const nlohmann::json& added_tokens);

  // Appends to `out` the segments of `text`, cutting at the tokens whose
  // `normalized` flag equals `normalized`.
  void split(std::string_view text, bool normalized, std::vector<TextSegment>& out) const;

  const AddedToken* find(int32_t id) const;
  const AddedToken* find(std::string_view content) const;
  // One more than the largest added id (0 when there are none).
  int32_t end_id() const { return end_id_; }

 private:
  std::vector<AddedToken> tokens_;
  // Indexes into tokens_ by first byte of the content, longest first.
  std::array<std::vector<size_t>, 256> by_first_byte_;
  std::unordered_map<int32_t, size_t> by_id_;
  int32_t end_id_ = 0;
};

}  // namespace brigade
