#pragma once
// The `decoder` of tokenizer.json: turns the vocabulary strings of a list of
// ids back into text. Supported types: ByteLevel, Replace, ByteFallback,
// Fuse, Strip, Sequence; any other type is refused by name.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace brigade {

class Decoder {
 public:
  // The decoder `spec` describes; nullptr for a JSON null (tokens are then
  // joined with spaces, as Hugging Face does). Throws Error naming the type.
  static std::unique_ptr<Decoder> parse(const nlohmann::json& spec);
  virtual ~Decoder() = default;

  // Rewrites `tokens` in place (Hugging Face's decode_chain; the text is the
  // concatenation of the result). Bytes that are not valid UTF-8 (a
  // character cut between ids) become U+FFFD as in Hugging Face, unless
  // `raw`, which keeps them for a streaming caller to complete later.
  virtual void decode(std::vector<std::string>& tokens, bool raw) const = 0;
};

}  // namespace brigade
