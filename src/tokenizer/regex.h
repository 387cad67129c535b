#pragma once
// A compiled PCRE2 pattern (UTF + UCP, JIT when the platform has it) for
// the regexes of tokenizer.json (`Split` pre-tokenizers, `Replace`
// normalizers). They use \p{L}, \p{N}, (?i:...) and look-ahead, which
// std::regex cannot express, and run over megabytes of text per second.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace brigade {

class Regex {
 public:
  // Compiles `pattern`; with `literal`, the pattern matches itself (a
  // tokenizer.json {"String": ...} pattern). Throws Error naming `where` and
  // the pattern when PCRE2 rejects it.
  Regex(const std::string& pattern, bool literal, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  struct Match {
    size_t begin, end;  // byte offsets into the searched text
  };
  // Every non-overlapping match of the pattern in `text`, left to right (an
  // empty match moves the search on by one character, as Rust's regex and
  // Oniguruma iterators do). Bytes that are not valid UTF-8 never match.
  std::vector<Match> find_all(std::string_view text) const;

  // `text` with every match of find_all() replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace brigade
