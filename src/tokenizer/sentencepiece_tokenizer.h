#pragma once
// A sentencepiece `tokenizer.model` (the format of the original Llama 2
// releases and of the random models make_model writes). BOS and EOS are the
// model's own unless tokenizer_config.json names others; every text gets BOS
// (as transformers' LlamaTokenizer) unless add_bos_token says otherwise.

#include <filesystem>
#include <memory>

#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace brigade {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // Loads `dir`/tokenizer.model and `dir`/tokenizer_config.json (if any).
  explicit SentencePieceTokenizer(const std::filesystem::path& dir);
  ~SentencePieceTokenizer() override;

  std::string decode_bytes(std::span<const int32_t> ids, bool skip_special_tokens) const override;
  int size() const override;
  std::optional<int32_t> id_of(std::string_view token) const override;
  std::optional<std::string> token_of(int32_t id) const override;

 protected:
  std::vector<int32_t> encode_text(std::string_view text) const override;
  std::string decode_text(std::span<const int32_t> ids, bool skip_special_tokens) const override;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace brigade
