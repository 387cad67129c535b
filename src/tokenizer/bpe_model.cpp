#include "tokenizer/bpe_model.h"

#include <fmt/format.h>

#include <queue>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace brigade {

namespace {

constexpr const char* kWhere = "model BPE";

// A candidate merge of the pair starting at symbol `pos`. The queue pops
// the lowest rank first and, among equal ranks, the leftmost pair.
struct Candidate {
  uint32_t rank;
  size_t pos;
  int32_t id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

}  // namespace

BpeModel::BpeModel(const nlohmann::json& spec, bool byte_level) : byte_level_(byte_level) {
  const auto dropout = spec.find("dropout");
  require(dropout == spec.end() || dropout->is_null() ||
              (dropout->is_number() && dropout->get<double>() == 0.0),
          "tokenizer.json: model BPE option 'dropout' is not supported (it makes encoding random)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto it = spec.find(key);
    require(
        it == spec.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty()),
        "tokenizer.json: model BPE option '{}' is not supported", key);
  }
  byte_fallback_ = bool_field(spec, "byte_fallback", false, kWhere);
  ignore_merges_ = bool_field(spec, "ignore_merges", false, kWhere);
  fuse_unk_ = bool_field(spec, "fuse_unk", false, kWhere);

  const auto vocab = spec.find("vocab");
  require(vocab != spec.end() && vocab->is_object(), "tokenizer.json: {} needs a 'vocab' object",
          kWhere);
  vocab_.reserve(vocab->size());
  for (const auto& [token, value] : vocab->items()) {
    require(value.is_number_integer() && value.get<int64_t>() >= 0 &&
                value.get<int64_t>() < (int64_t{1} << 30),
            "tokenizer.json: {} vocab entry '{}' has no valid id", kWhere, token);
    const auto id = value.get<int32_t>();
    vocab_.emplace(token, id);
    if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(static_cast<size_t>(id) + 1);
    tokens_[static_cast<size_t>(id)] = token;
  }

  const auto unk = spec.find("unk_token");
  if (unk != spec.end() && !unk->is_null()) {
    require(unk->is_string(), "tokenizer.json: {} 'unk_token' must be a string", kWhere);
    unk_ = id_of(unk->get<std::string>());
    require(unk_.has_value(), "tokenizer.json: {} unk_token '{}' is not in the vocabulary", kWhere,
            unk->get<std::string>());
  }

  for (int b = 0; b < 256; ++b) {
    const auto id = byte_level_      ? id_of(byte_level::char_of(static_cast<unsigned char>(b)))
                    : byte_fallback_ ? id_of(fmt::format("<0x{:02X}>", b))
                                     : std::nullopt;
    byte_ids_[static_cast<size_t>(b)] = id.value_or(-1);
  }
  read_merges(array_field(spec, "merges", kWhere));
}

void BpeModel::read_merges(const nlohmann::json& merges) {
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& merge = merges[rank];
    std::string left, right;
    if (merge.is_string()) {
      const auto& line = merge.get_ref<const std::string&>();
      const auto space = line.find(' ');
      require(space != std::string::npos && line.find(' ', space + 1) == std::string::npos,
              "tokenizer.json: {} merge {} ('{}') is not two tokens separated by a space", kWhere,
              rank, line);
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else {
      require(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(),
              "tokenizer.json: {} merge {} is not a pair of strings", kWhere, rank);
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    }
    const auto left_id = id_of(left), right_id = id_of(right), merged_id = id_of(left + right);
    require(left_id && right_id && merged_id,
            "tokenizer.json: {} merge {} ('{}' + '{}') uses a token missing from the vocabulary",
            kWhere, rank, left, right);
    // As in Hugging Face tokenizers, a repeated pair keeps its last rank.
    merges_[pair_key(*left_id, *right_id)] = {static_cast<uint32_t>(rank), *merged_id};
  }
}

std::optional<int32_t> BpeModel::id_of(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

bool BpeModel::has_id(int32_t id) const {
  return id >= 0 && id < size() && !tokens_[static_cast<size_t>(id)].empty();
}

std::vector<int32_t> BpeModel::initial_symbols(std::string_view word) const {
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  // A run of unknown characters waiting to become one <unk> (fuse_unk) or several.
  bool pending_unk = false;
  auto flush_unk = [&] {
    if (pending_unk) symbols.push_back(*unk_);
    pending_unk = false;
  };
  auto unknown = [&] {
    // Without an unk token the character is dropped, as Hugging Face does.
    if (!unk_) return;
    if (!fuse_unk_) flush_unk();
    pending_unk = true;
  };
  if (byte_level_) {
    for (unsigned char byte : word) {
      const int32_t id = byte_ids_[byte];
      if (id < 0) {
        unknown();
        continue;
      }
      flush_unk();
      symbols.push_back(id);
    }
    flush_unk();
    return symbols;
  }
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t length = std::max<size_t>(1, utf8::sequence_length(word, pos));
    const auto character = word.substr(pos, length);
    pos += length;
    if (const auto id = id_of(character)) {
      flush_unk();
      symbols.push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char byte : character) all = all && byte_ids_[byte] >= 0;
      if (all) {
        flush_unk();
        for (unsigned char byte : character) symbols.push_back(byte_ids_[byte]);
        continue;
      }
    }
    unknown();
  }
  flush_unk();
  return symbols;
}

std::vector<int32_t> BpeModel::merge(std::vector<int32_t> symbols) const {
  const size_t n = symbols.size();
  if (n < 2) return symbols;
  // A doubly linked list over the symbols; merged-away symbols are dead.
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = i == 0 ? kNone : i - 1;
    next[i] = i + 1 == n ? kNone : i + 1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](size_t pos) {
    if (pos == kNone || next[pos] == kNone) return;
    const auto it = merges_.find(pair_key(symbols[pos], symbols[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (!alive[top.pos] || next[top.pos] == kNone) continue;
    // The pair may have changed since the candidate was queued.
    const auto it = merges_.find(pair_key(symbols[top.pos], symbols[next[top.pos]]));
    if (it == merges_.end() || it->second.id != top.id) continue;
    const size_t right = next[top.pos];
    symbols[top.pos] = top.id;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] != kNone) prev[next[right]] = top.pos;
    consider(prev[top.pos]);
    consider(top.pos);
  }
  std::vector<int32_t> merged;
  for (size_t i = 0; i != kNone; i = next[i]) merged.push_back(symbols[i]);
  return merged;
}

std::vector<int32_t> BpeModel::encode_uncached(std::string_view word) const {
  if (ignore_merges_) {
    std::string token;
    if (byte_level_) {
      for (unsigned char byte : word) token += byte_level::char_of(byte);
    } else {
      token = word;
    }
    if (const auto id = id_of(token)) return {*id};
  }
  return merge(initial_symbols(word));
}

void BpeModel::encode(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  const bool cacheable = word.size() < kCacheWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(word);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  auto word_ids = encode_uncached(word);
  ids.insert(ids.end(), word_ids.begin(), word_ids.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() < kCacheWords) cache_.emplace(std::string(word), std::move(word_ids));
  }
}

}  // namespace brigade
