#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace brigade::byte_level {

namespace {

struct Alphabet {
  std::array<std::string, 256> chars;
  // Code point -> byte + 1 (0 = not in the alphabet); code points stay below 324.
  std::array<int, 324> bytes{};

  Alphabet() {
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      utf8::append(chars[b], cp);
      bytes[cp] = b + 1;
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

const std::string& char_of(unsigned char byte) { return alphabet().chars[byte]; }

bool append_bytes(std::string_view token, std::string& out) {
  const auto& table = alphabet().bytes;
  const size_t size = out.size();
  size_t pos = 0;
  while (pos < token.size()) {
    const size_t length = utf8::sequence_length(token, pos);
    const char32_t cp = length > 0 ? utf8::decode_at(token, pos) : 0x110000;
    if (length == 0 || cp >= table.size() || table[cp] == 0) {
      out.resize(size);
      return false;
    }
    out += static_cast<char>(table[cp] - 1);
    pos += length;
  }
  return true;
}

}  // namespace brigade::byte_level
