#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "util/error.h"

namespace brigade {

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& dir)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto path = dir / "tokenizer.model";
  const auto status = processor_->Load(path.string());
  require(status.ok(), "{}: cannot load sentencepiece model: {}", path.string(), status.ToString());
  auto own = [](int id) { return id >= 0 ? std::optional<int32_t>(id) : std::nullopt; };
  const auto bos = own(processor_->bos_id());
  SpecialTokenFrame frame;
  if (bos) frame.prefix = {*bos};
  set_special_tokens(TokenizerConfig::read(dir), frame, bos, own(processor_->eos_id()),
                     path.string());
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode_text(std::string_view text) const {
  std::vector<int> pieces;
  const auto status = processor_->Encode(text, &pieces);
  require(status.ok(), "tokenizer: cannot encode text: {}", status.ToString());
  return {pieces.begin(), pieces.end()};
}

std::string SentencePieceTokenizer::decode_text(std::span<const int32_t> ids,
                                                bool skip_special_tokens) const {
  std::vector<int> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= processor_->GetPieceSize()) continue;
    // Control pieces (BOS, EOS) decode to nothing in sentencepiece anyway.
    if (skip_special_tokens && processor_->IsControl(id)) continue;
    pieces.push_back(id);
  }
  std::string text;
  const auto status = processor_->Decode(pieces, &text);
  require(status.ok(), "tokenizer: cannot decode ids: {}", status.ToString());
  return text;
}

std::string SentencePieceTokenizer::decode_bytes(std::span<const int32_t> ids,
                                                 bool skip_special_tokens) const {
  // sentencepiece repairs bytes itself and has no clean-up: the same text.
  return decode_text(ids, skip_special_tokens);
}

int SentencePieceTokenizer::size() const { return processor_->GetPieceSize(); }

std::optional<int32_t> SentencePieceTokenizer::id_of(std::string_view token) const {
  const int id = processor_->PieceToId(token);
  // Unknown pieces map to the unk id; only the unk piece itself should.
  if (id == processor_->unk_id() && processor_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

std::optional<std::string> SentencePieceTokenizer::token_of(int32_t id) const {
  if (id < 0 || id >= processor_->GetPieceSize()) return std::nullopt;
  return processor_->IdToPiece(id);
}

}  // namespace brigade
