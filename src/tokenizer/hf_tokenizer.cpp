#include "tokenizer/hf_tokenizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "util/error.h"

namespace brigade {

namespace {

const nlohmann::json& member(const nlohmann::json& root, const char* key) {
  static const nlohmann::json null;
  const auto it = root.find(key);
  return it == root.end() ? null : *it;
}

}  // namespace

HfTokenizer::HfTokenizer(const std::filesystem::path& dir) {
  const auto path = dir / "tokenizer.json";
  const auto root = read_json_file(path);
  try {
    require(root.is_object(), "tokenizer.json: not a JSON object");
    for (const char* key : {"truncation", "padding"}) {
      require(member(root, key).is_null(),
              "tokenizer.json: '{}' is not supported (it must be null)", key);
    }
    const auto& model = member(root, "model");
    require(model.is_object(), "tokenizer.json: no 'model' object");
    const auto type = model.value("type", model.contains("merges") ? "BPE" : "");
    require(type == "BPE", "tokenizer.json: model type '{}' is not supported (supported: BPE)",
            type);
    added_ = std::make_unique<AddedVocabulary>(member(root, "added_tokens"));
    normalizer_ = Normalizer::parse(member(root, "normalizer"));
    pre_tokenizer_ = std::make_unique<PreTokenizer>(member(root, "pre_tokenizer"));
    model_ = std::make_unique<BpeModel>(model, pre_tokenizer_->byte_level());
    decoder_ = Decoder::parse(member(root, "decoder"));
    const auto frame = parse_post_processor(member(root, "post_processor"));
    set_special_tokens(TokenizerConfig::read(dir), frame, std::nullopt, std::nullopt,
                       path.string());
  } catch (const Error& e) {
    // Messages name the component; say which checkpoint too.
    fail("{}: {}", dir.string(), e.what());
  }
}

HfTokenizer::~HfTokenizer() = default;

std::vector<int32_t> HfTokenizer::encode_text(std::string_view text) const {
  std::vector<TextSegment> raw_segments;
  added_->split(text, false, raw_segments);
  std::vector<TextSegment> segments;
  for (auto& segment : raw_segments) {
    if (segment.id) {
      segments.push_back(std::move(segment));
      continue;
    }
    if (normalizer_) normalizer_->normalize(segment.text);
    added_->split(segment.text, true, segments);
  }
  std::vector<int32_t> ids;
  std::vector<std::string> words;
  for (const auto& segment : segments) {
    if (segment.id) {
      ids.push_back(*segment.id);
      continue;
    }
    words.clear();
    pre_tokenizer_->split(segment.text, words);
    for (const auto& word : words) model_->encode(word, ids);
  }
  return ids;
}

std::string HfTokenizer::decode_tokens(std::span<const int32_t> ids, bool skip_special_tokens,
                                       bool raw) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const auto* added = added_->find(id)) {
      if (!(skip_special_tokens && added->special)) tokens.push_back(added->content);
    } else if (model_->has_id(id)) {
      tokens.push_back(model_->token_of(id));
    }
  }
  if (decoder_ == nullptr) {
    std::string text;
    for (size_t i = 0; i < tokens.size(); ++i) text += (i == 0 ? "" : " ") + tokens[i];
    return text;
  }
  decoder_->decode(tokens, raw);
  std::string text;
  for (const auto& token : tokens) text += token;
  return text;
}

std::string HfTokenizer::decode_bytes(std::span<const int32_t> ids,
                                      bool skip_special_tokens) const {
  return decode_tokens(ids, skip_special_tokens, true);
}

std::string HfTokenizer::decode_text(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return decode_tokens(ids, skip_special_tokens, false);
}

int HfTokenizer::size() const { return std::max(model_->size(), added_->end_id()); }

std::optional<int32_t> HfTokenizer::id_of(std::string_view token) const {
  if (const auto* added = added_->find(token)) return added->id;
  return model_->id_of(token);
}

std::optional<std::string> HfTokenizer::token_of(int32_t id) const {
  if (const auto* added = added_->find(id)) return added->content;
  if (model_->has_id(id)) return model_->token_of(id);
  return std::nullopt;
}

}  // namespace brigade
