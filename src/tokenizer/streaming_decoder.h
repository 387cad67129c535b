#pragma once
// Text of a growing list of generated ids, handed out piece by piece so that
// a stream never shows half a UTF-8 character: byte-level tokenizers split
// characters (CJK, emoji) across ids, and the bytes of an incomplete
// character are held back until the id that completes it arrives.
//
// Each push() decodes the whole list (not the new id alone, which would lose
// the spaces sentencepiece attaches to word starts) and returns what was not
// handed out yet. Special tokens (BOS, EOS, <|eot_id|>) are not shown.

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace brigade {

class StreamingDecoder {
 public:
  // REQUIRES: `tokenizer` outlives this object.
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  // Adds `id`; returns the text it completes (possibly empty).
  std::string push(int32_t id);
  // Ends the stream: returns the held-back bytes of an incomplete last
  // character, as U+FFFD (empty when nothing is held back).
  std::string finish();
  // Everything handed out so far.
  const std::string& text() const { return text_; }

 private:
  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;
  std::string decoded_;  // bytes of the ids so far that were handed out
  std::string held_;     // trailing bytes of an incomplete character
  std::string text_;
};

}  // namespace brigade
