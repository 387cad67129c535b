#pragma once
// A Hugging Face `tokenizer.json` with a BPE model: the pipeline of the
// tokenizers library, stage by stage.
//   encode: cut out added tokens (raw) -> normalizer -> cut out added tokens
//           (normalized) -> pre_tokenizer -> BPE per word
//   decode: ids -> vocabulary strings -> decoder
// The post_processor's framing (BOS) is applied by Tokenizer::encode.
// `truncation` and `padding` must be null; every component is checked when
// the file is loaded, and one that is not supported is an Error naming it.

#include <filesystem>
#include <memory>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace brigade {

class HfTokenizer : public Tokenizer {
 public:
  // Loads `dir`/tokenizer.json and `dir`/tokenizer_config.json (if any).
  explicit HfTokenizer(const std::filesystem::path& dir);
  ~HfTokenizer() override;

  std::string decode_bytes(std::span<const int32_t> ids, bool skip_special_tokens) const override;
  int size() const override;
  std::optional<int32_t> id_of(std::string_view token) const override;
  std::optional<std::string> token_of(int32_t id) const override;

 protected:
  std::vector<int32_t> encode_text(std::string_view text) const override;
  std::string decode_text(std::span<const int32_t> ids, bool skip_special_tokens) const override;

 private:
  std::string decode_tokens(std::span<const int32_t> ids, bool skip_special_tokens, bool raw) const;

  std::unique_ptr<AddedVocabulary> added_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace brigade
