#include "tokenizer/streaming_decoder.h"

#include "tokenizer/utf8.h"

namespace brigade {

std::string StreamingDecoder::push(int32_t id) {
  ids_.push_back(id);
  std::string bytes = tokenizer_.decode_bytes(ids_, /*skip_special_tokens=*/true);
  held_ = bytes.substr(bytes.size() - utf8::incomplete_tail(bytes));
  bytes.resize(bytes.size() - held_.size());
  // Normally the new text extends the old; should a later id rewrite earlier
  // text, only what differs from what was shown is shown (it cannot be
  // taken back).
  size_t common = 0;
  while (common < decoded_.size() && common < bytes.size() && decoded_[common] == bytes[common])
    ++common;
  std::string piece = utf8::repair(std::string_view(bytes).substr(common));
  decoded_ = std::move(bytes);
  text_ += piece;
  return piece;
}

std::string StreamingDecoder::finish() {
  std::string piece = utf8::repair(held_);
  held_.clear();
  text_ += piece;
  return piece;
}

}  // namespace brigade
