#include "tokenizer/utf8.h"

#include <utf8proc.h>

namespace brigade::utf8 {

namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Bytes announced by a lead byte, 0 for a byte that cannot lead.
size_t announced_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// The range the second byte must fall in; it excludes overlong forms,
// surrogates and code points beyond U+10FFFF (Unicode table 3-7).
bool second_byte_ok(unsigned char lead, unsigned char second) {
  switch (lead) {
    case 0xE0:
      return second >= 0xA0 && second <= 0xBF;
    case 0xED:
      return second >= 0x80 && second <= 0x9F;
    case 0xF0:
      return second >= 0x90 && second <= 0xBF;
    case 0xF4:
      return second >= 0x80 && second <= 0x8F;
    default:
      return is_continuation(second);
  }
}

// Number of bytes from `pos` that are a valid prefix of some sequence
// (at least 1: a lone bad byte is its own maximal ill-formed subpart).
size_t valid_prefix(std::string_view text, size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  const size_t want = announced_length(lead);
  if (want <= 1) return 1;
  size_t have = 1;
  while (have < want && pos + have < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos + have]);
    if (have == 1 ? !second_byte_ok(lead, byte) : !is_continuation(byte)) break;
    ++have;
  }
  return have;
}

}  // namespace

size_t sequence_length(std::string_view text, size_t pos) {
  const size_t want = announced_length(static_cast<unsigned char>(text[pos]));
  if (want == 0) return 0;
  return valid_prefix(text, pos) == want ? want : 0;
}

size_t first_invalid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t length = sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

std::string repair(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t length = sequence_length(bytes, pos);
    if (length > 0) {
      out.append(bytes.substr(pos, length));
      pos += length;
    } else {
      out += "\xEF\xBF\xBD";
      pos += valid_prefix(bytes, pos);
    }
  }
  return out;
}

size_t incomplete_tail(std::string_view bytes) {
  // A character is at most 4 bytes: its lead is among the last 3.
  for (size_t back = 1; back <= 3 && back <= bytes.size(); ++back) {
    const size_t pos = bytes.size() - back;
    const auto byte = static_cast<unsigned char>(bytes[pos]);
    if (is_continuation(byte)) continue;
    const size_t want = announced_length(byte);
    return want > back && valid_prefix(bytes, pos) == back ? back : 0;
  }
  return 0;
}

char32_t decode_at(std::string_view text, size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  const size_t length = announced_length(lead);
  if (length == 1) return lead;
  char32_t cp = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i)
    cp = (cp << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  return cp;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_whitespace(char32_t cp) {
  // White_Space = the separators (Zs, Zl, Zp) plus the C0/C1 controls
  // TAB..CR and NEL.
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return true;
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

}  // namespace brigade::utf8
