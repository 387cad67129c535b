#pragma once
// Text <-> token ids for a checkpoint. One facade over the two tokenizer
// formats checkpoints ship:
//   - Hugging Face `tokenizer.json` (hf_tokenizer.h): Llama 3, Qwen2/3,
//     GPT-2, Llama 2 / Mistral style files; see docs/tokenizers.md for the
//     components supported and refused;
//   - sentencepiece `tokenizer.model` (sentencepiece_tokenizer.h).
// plus `tokenizer_config.json` (tokenizer_config.h) for BOS/EOS. The rest of
// Brigade sees only this class. All methods are thread-safe.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/post_processor.h"
#include "tokenizer/tokenizer_config.h"

namespace brigade {

class Tokenizer {
 public:
  // The tokenizer of checkpoint `dir`: tokenizer.json when it exists, else
  // tokenizer.model, else nullptr (token-id prompts still work then). Throws
  // Error naming the file and the component or field when a file exists but
  // cannot be used.
  static std::unique_ptr<Tokenizer> open(const std::filesystem::path& dir);
  virtual ~Tokenizer() = default;

  // Ids of `text`. With `add_special_tokens`, framed by the ids the checkpoint
  // puts around every text (BOS for Llama 2), exactly as Hugging Face's
  // `tokenizer(text)["input_ids"]`; without, only the text's own ids, as
  // transformers' apply_chat_template tokenizes a rendered chat. Special
  // tokens written in the text ("<|eot_id|>") become their one id
  // (tokenizer.json). Throws Error when `text` is not valid UTF-8.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;
  // The old encode(text, bos_id): a BOS id must not silently turn into a bool.
  std::vector<int32_t> encode(std::string_view text, int bos_id) const = delete;

  // Text of `ids`, as Hugging Face's `tokenizer.decode(ids,
  // skip_special_tokens=...)`: bytes that do not form UTF-8 become U+FFFD,
  // and spaces are cleaned up when tokenizer_config.json asks for it. Ids
  // outside [0, size()) decode to nothing: a model's embedding table may be
  // larger than its tokenizer (padded vocabularies, random test models).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The bytes `ids` stand for, with no U+FFFD replacement and no clean-up: a
  // character whose bytes are split across ids stays incomplete at the end,
  // for StreamingDecoder to hold back until the next id completes it.
  virtual std::string decode_bytes(std::span<const int32_t> ids,
                                   bool skip_special_tokens) const = 0;

  // One more than the largest id (special tokens included).
  virtual int size() const = 0;
  // The id of the token spelled `token` ("<|eot_id|>", "<|im_end|>", "▁the"),
  // nullopt when there is none.
  virtual std::optional<int32_t> id_of(std::string_view token) const = 0;
  // The vocabulary string of `id` ("Ġthe", "<|eot_id|>"), nullopt for ids
  // outside the vocabulary.
  virtual std::optional<std::string> token_of(int32_t id) const = 0;

  // BOS and EOS from tokenizer_config.json (bos_token, eos_token), else the
  // tokenizer file's own (sentencepiece); nullopt when the checkpoint has none.
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  // Whether encode(text, true) puts BOS first / EOS last.
  bool adds_bos() const;
  bool adds_eos() const;

 protected:
  Tokenizer() = default;
  // Called once by an implementation's constructor: `config` decides BOS,
  // EOS and whether they frame every text; where it is silent, `defaults`,
  // `default_bos` and `default_eos` (from the tokenizer file) do. `file`
  // names the tokenizer file in errors.
  void set_special_tokens(const TokenizerConfig& config, const SpecialTokenFrame& defaults,
                          std::optional<int32_t> default_bos, std::optional<int32_t> default_eos,
                          const std::string& file);
  // The text's own ids (no framing).
  virtual std::vector<int32_t> encode_text(std::string_view text) const = 0;
  // decode() before the clean-up.
  virtual std::string decode_text(std::span<const int32_t> ids, bool skip_special_tokens) const = 0;

 private:
  std::optional<int32_t> bos_id_, eos_id_;
  SpecialTokenFrame frame_;
  bool clean_up_spaces_ = false;
};

}  // namespace brigade
