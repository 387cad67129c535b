#pragma once
// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one
// printable character (printable Latin-1 bytes as themselves, the others as
// U+0100 onwards), so that a byte-level vocabulary is a set of strings. The
// mapping is computed by GPT-2's bytes_to_unicode() rule, not tabulated.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace brigade::byte_level {

// The character (as UTF-8) standing for `byte`: byte 0x20 is "Ġ".
const std::string& char_of(unsigned char byte);

// The byte that `token` (a byte-level vocabulary entry) stands for, appended
// to `out` one byte per character; false (and `out` unchanged) when a
// character of `token` is not in the alphabet.
bool append_bytes(std::string_view token, std::string& out);

}  // namespace brigade::byte_level
