#pragma once
// UTF-8 helpers for the tokenizers: walking code points, checking and
// repairing byte strings, and the one Unicode property the tokenizers need
// beyond their regexes (White_Space, through utf8proc's categories).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace brigade::utf8 {

// Byte length of the well-formed sequence that starts at `text[pos]`, or 0
// when the bytes there are not one (bad lead byte, missing or bad
// continuation, overlong form, surrogate, beyond U+10FFFF).
// REQUIRES: pos < text.size().
size_t sequence_length(std::string_view text, size_t pos);

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t first_invalid(std::string_view text);

// `bytes` with every ill-formed part replaced by U+FFFD, one per maximal
// ill-formed subpart (as Rust's String::from_utf8_lossy and Python's
// decode(errors="replace") do).
std::string repair(std::string_view bytes);

// Length of the trailing bytes of `bytes` that start a character but do not
// finish it (a lead byte and fewer continuation bytes than it announces);
// 0 when the text ends on a character boundary or in ill-formed bytes that
// no further byte can complete.
size_t incomplete_tail(std::string_view bytes);

// Decodes the code point of the well-formed sequence at `text[pos]`.
// REQUIRES: sequence_length(text, pos) > 0.
char32_t decode_at(std::string_view text, size_t pos);

// Appends the UTF-8 encoding of `cp` to `out`.
void append(std::string& out, char32_t cp);

// Unicode White_Space (Rust's char::is_whitespace), which decides what the
// lstrip/rstrip of an added token consume.
bool is_whitespace(char32_t cp);

}  // namespace brigade::utf8
