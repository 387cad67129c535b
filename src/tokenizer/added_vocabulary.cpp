#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/json_fields.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace brigade {

namespace {

// Start of the run of whitespace that ends `text`.
size_t trailing_space_start(std::string_view text) {
  size_t start = text.size();
  while (start > 0) {
    size_t lead = start - 1;
    while (lead > 0 && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
    if (utf8::sequence_length(text, lead) != start - lead ||
        !utf8::is_whitespace(utf8::decode_at(text, lead)))
      break;
    start = lead;
  }
  return start;
}

// Length of the run of whitespace that starts `text`.
size_t leading_space_length(std::string_view text) {
  size_t end = 0;
  while (end < text.size()) {
    const size_t length = utf8::sequence_length(text, end);
    if (length == 0 || !utf8::is_whitespace(utf8::decode_at(text, end))) break;
    end += length;
  }
  return end;
}

}  // namespace

AddedVocabulary::AddedVocabulary(const nlohmann::json& added_tokens) {
  if (added_tokens.is_null()) return;
  require(added_tokens.is_array(), "tokenizer.json: 'added_tokens' must be an array");
  for (const auto& entry : added_tokens) {
    AddedToken token;
    token.content = string_field(entry, "content", "added_tokens entry");
    const std::string where = "added token '" + token.content + "'";
    const auto id = entry.find("id");
    require(id != entry.end() && id->is_number_integer() && id->get<int64_t>() >= 0 &&
                id->get<int64_t>() < (int64_t{1} << 30),
            "tokenizer.json: {} has no valid 'id'", where);
    token.id = id->get<int32_t>();
    token.special = bool_field(entry, "special", false, where);
    token.lstrip = bool_field(entry, "lstrip", false, where);
    token.rstrip = bool_field(entry, "rstrip", false, where);
    token.normalized = bool_field(entry, "normalized", !token.special, where);
    require(!bool_field(entry, "single_word", false, where),
            "tokenizer.json: {} uses single_word=true, which is not supported", where);
    require(!token.content.empty(), "tokenizer.json: added token {} has empty content", token.id);
    end_id_ = std::max(end_id_, token.id + 1);
    by_id_[token.id] = tokens_.size();
    tokens_.push_back(std::move(token));
  }
  for (size_t i = 0; i < tokens_.size(); ++i)
    by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), [&](size_t a, size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
}

void AddedVocabulary::split(std::string_view text, bool normalized,
                            std::vector<TextSegment>& out) const {
  size_t done = 0;  // text before this is already in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* match = nullptr;
    for (size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const auto& token = tokens_[index];
      if (token.normalized == normalized && text.substr(pos).starts_with(token.content)) {
        match = &token;
        break;
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + match->content.size();
    if (match->lstrip) start = std::max(trailing_space_start(text.substr(0, start)), done);
    if (match->rstrip) stop += leading_space_length(text.substr(stop));
    if (start > done) out.push_back({std::string(text.substr(done, start - done)), std::nullopt});
    out.push_back({match->content, match->id});
    done = pos = stop;
  }
  if (done < text.size()) out.push_back({std::string(text.substr(done)), std::nullopt});
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  if (content.empty()) return nullptr;
  for (size_t index : by_first_byte_[static_cast<unsigned char>(content[0])]) {
    if (tokens_[index].content == content) return &tokens_[index];
  }
  return nullptr;
}

}  // namespace brigade
