#pragma once
// The fields of Hugging Face's `tokenizer_config.json` that change token ids
// or text: which tokens are BOS and EOS, whether every text gets them, and
// whether decode() cleans up spaces before punctuation. Fields that would
// change ids in ways Brigade does not implement are refused by name.

#include <filesystem>
#include <optional>
#include <string>

namespace brigade {

struct TokenizerConfig {
  // `bos_token` / `eos_token` (a string or {"content": ...}); absent or null
  // when the checkpoint names none.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // `add_bos_token` / `add_eos_token`; absent: the tokenizer file decides
  // (tokenizer.json's post_processor, sentencepiece: BOS yes, EOS no).
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  // `clean_up_tokenization_spaces`: decode() removes the space before
  // . , ! ? and English contractions, as transformers' decode() does.
  // Default false when absent.
  bool clean_up_tokenization_spaces = false;

  // Reads `dir`/tokenizer_config.json; all defaults when the file is absent.
  // Throws Error naming the file and field when it is malformed or asks for
  // something unsupported (split_special_tokens=true).
  static TokenizerConfig read(const std::filesystem::path& dir);
};

}  // namespace brigade
