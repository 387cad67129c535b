#include "tokenizer/tokenizer.h"

#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace brigade {

namespace {

// transformers' clean_up_tokenization: the same replacements, in the same order.
std::string clean_up_spaces(std::string text) {
  static const std::pair<std::string_view, std::string_view> kReplacements[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kReplacements) {
    std::string out;
    size_t last = 0;
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, last)) {
      out.append(text, last, pos - last);
      out += to;
      last = pos + from.size();
    }
    out.append(text, last);
    text = std::move(out);
  }
  return text;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::open(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "tokenizer.json")) return std::make_unique<HfTokenizer>(dir);
  if (std::filesystem::exists(dir / "tokenizer.model"))
    return std::make_unique<SentencePieceTokenizer>(dir);
  return nullptr;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const size_t invalid = utf8::first_invalid(text);
  require(invalid == std::string_view::npos,
          "tokenizer: the text is not valid UTF-8 (bad byte 0x{:02X} at offset {})",
          invalid == std::string_view::npos ? 0 : static_cast<unsigned char>(text[invalid]),
          invalid);
  auto ids = encode_text(text);
  if (!add_special_tokens) return ids;
  ids.insert(ids.begin(), frame_.prefix.begin(), frame_.prefix.end());
  ids.insert(ids.end(), frame_.suffix.begin(), frame_.suffix.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  auto text = decode_text(ids, skip_special_tokens);
  return clean_up_spaces_ ? clean_up_spaces(std::move(text)) : text;
}

bool Tokenizer::adds_bos() const {
  return bos_id_ && !frame_.prefix.empty() && frame_.prefix.front() == *bos_id_;
}

bool Tokenizer::adds_eos() const {
  return eos_id_ && !frame_.suffix.empty() && frame_.suffix.back() == *eos_id_;
}

void Tokenizer::set_special_tokens(const TokenizerConfig& config, const SpecialTokenFrame& defaults,
                                   std::optional<int32_t> default_bos,
                                   std::optional<int32_t> default_eos, const std::string& file) {
  auto lookup = [&](const std::optional<std::string>& token, std::optional<int32_t> fallback,
                    const char* field) -> std::optional<int32_t> {
    if (!token) return fallback;
    const auto id = id_of(*token);
    require(id.has_value(), "tokenizer_config.json: {} '{}' is not a token of {}", field, *token,
            file);
    return id;
  };
  bos_id_ = lookup(config.bos_token, default_bos, "bos_token");
  eos_id_ = lookup(config.eos_token, default_eos, "eos_token");
  // An explicit add_bos_token / add_eos_token wins over the tokenizer file,
  // as transformers' Llama and Gemma tokenizers rebuild their template from
  // them.
  frame_ = defaults;
  if (config.add_bos_token) {
    require(!*config.add_bos_token || bos_id_,
            "tokenizer_config.json: add_bos_token is true but the checkpoint names no bos_token");
    frame_.prefix = *config.add_bos_token ? std::vector<int32_t>{*bos_id_} : std::vector<int32_t>{};
  }
  if (config.add_eos_token) {
    require(!*config.add_eos_token || eos_id_,
            "tokenizer_config.json: add_eos_token is true but the checkpoint names no eos_token");
    frame_.suffix = *config.add_eos_token ? std::vector<int32_t>{*eos_id_} : std::vector<int32_t>{};
  }
  clean_up_spaces_ = config.clean_up_tokenization_spaces;
}

}  // namespace brigade
