#pragma once
// The `model` of tokenizer.json when its type is BPE: a vocabulary of
// strings and a ranked list of merges. A word starts as one symbol per byte
// (byte-level tokenizers) or per character, then the adjacent pair with the
// lowest merge rank is merged, leftmost first, until no pair has a merge.
//
// Options: byte_fallback (a character missing from the vocabulary becomes
// its <0xNN> byte tokens), unk_token and fuse_unk, ignore_merges (a word
// that is itself in the vocabulary is one token). dropout, and non-empty
// continuing_subword_prefix / end_of_word_suffix, are refused.
//
// Cost: merge ranks live in a hash map keyed by the pair of ids; a word
// costs O(n log n) in its symbols through a priority queue; words already
// seen come from a cache (at most kCacheWords entries, each shorter than
// kCacheWordBytes). encode() is thread-safe.

#include <array>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace brigade {

class BpeModel {
 public:
  static constexpr size_t kCacheWords = 100000;
  static constexpr size_t kCacheWordBytes = 256;

  // Reads the model `spec`; `byte_level` says that words arrive as raw bytes
  // to be mapped through the byte-level alphabet (see pre_tokenizer.h).
  // Throws Error naming the option or merge it cannot use.
  BpeModel(const nlohmann::json& spec, bool byte_level);

  // Appends the ids of `word` (one pre-tokenized word) to `ids`.
  void encode(std::string_view word, std::vector<int32_t>& ids) const;

  std::optional<int32_t> id_of(std::string_view token) const;
  // The vocabulary string of `id`. REQUIRES: 0 <= id < size() and has_id(id).
  const std::string& token_of(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }
  bool has_id(int32_t id) const;
  // One more than the largest id.
  int size() const { return static_cast<int>(tokens_.size()); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;
  struct Merge {
    uint32_t rank;
    int32_t id;  // of the merged token
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  void read_merges(const nlohmann::json& merges);
  // The symbols `word` starts as, before any merge.
  std::vector<int32_t> initial_symbols(std::string_view word) const;
  std::vector<int32_t> merge(std::vector<int32_t> symbols) const;
  std::vector<int32_t> encode_uncached(std::string_view word) const;

  Vocab vocab_;
  std::vector<std::string> tokens_;  // by id; "" for unused ids
  std::unordered_map<uint64_t, Merge> merges_;
  bool byte_level_;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
  std::optional<int32_t> unk_;
  std::array<int32_t, 256> byte_ids_{};  // byte-level symbol or <0xNN> token per byte; -1 = none

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace brigade
