#include "chat/jinja_strings.h"

#include <cctype>

#include "chat/jinja_builtins.h"

namespace brigade::jinja {

const std::string& need_string(const Value& v, std::string_view what) {
  if (!v.is_string()) fail("{} needs a str, got {}", what, v.type_name());
  return v.as_string();
}

int64_t need_int(const Value& v, std::string_view what) {
  if (v.kind() != Value::Kind::Int && v.kind() != Value::Kind::Bool)
    fail("{} needs an int, got {}", what, v.type_name());
  return v.as_int();
}

namespace {

std::u32string strip_code_points(const std::u32string& s, const Value* chars, bool left,
                                 bool right) {
  std::u32string set;
  if (chars) set = utf8_decode(need_string(*chars, "strip characters"));
  auto strip = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : is_python_space(c);
  };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && strip(s[b])) ++b;
  if (right)
    while (e > b && strip(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace

std::string strip(const std::string& s, const Value* chars, bool left, bool right) {
  return utf8_encode(strip_code_points(utf8_decode(s), chars, left, right));
}

Value split(const std::string& s, const Value* sep, int64_t maxsplit) {
  ValueList parts;
  if (!sep) {
    const std::u32string cps = utf8_decode(s);
    size_t i = 0;
    while (true) {
      while (i < cps.size() && is_python_space(cps[i])) ++i;
      if (i == cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        parts.push_back(Value::string(utf8_encode(cps.substr(i))));  // Python keeps its tail
        break;
      }
      size_t j = i;
      while (j < cps.size() && !is_python_space(cps[j])) ++j;
      parts.push_back(Value::string(utf8_encode(cps.substr(i, j - i))));
      i = j;
    }
    return Value::list(std::move(parts));
  }
  const std::string& separator = need_string(*sep, "split separator");
  if (separator.empty()) fail("split: empty separator");
  size_t start = 0;
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    const size_t at = s.find(separator, start);
    if (at == std::string::npos) break;
    parts.push_back(Value::string(s.substr(start, at - start)));
    start = at + separator.size();
  }
  parts.push_back(Value::string(s.substr(start)));
  return Value::list(std::move(parts));
}

std::string replace(const std::string& s, const std::string& old, const std::string& with,
                    int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {
    // Python inserts `with` before every code point and at the end.
    const auto bounds = utf8_boundaries(s);
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      out += s.substr(bounds[i], bounds[i + 1] - bounds[i]);
    }
    if (count < 0 || done < count) out += with;
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out += s.substr(start, at - start) + with;
    start = at + old.size();
    ++done;
  }
  return out + s.substr(start);
}

void require_ascii(const std::string& s, std::string_view what) {
  for (unsigned char c : s)
    if (c >= 0x80) fail("{} of non-ASCII text is not supported", what);
}

std::string ascii_upper(std::string s, std::string_view what) {
  require_ascii(s, what);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string ascii_lower(std::string s, std::string_view what) {
  require_ascii(s, what);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string capitalize(const std::string& s, std::string_view what) {
  std::string out = ascii_lower(s, what);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// Python's str.title(): a letter after a non-letter is upper-cased, others
// lower-cased.
std::string python_title(const std::string& s) {
  std::string out = ascii_lower(s, "title");
  bool previous_letter = false;
  for (char& c : out) {
    const bool letter = std::isalpha(static_cast<unsigned char>(c));
    if (letter && !previous_letter) c = static_cast<char>(std::toupper(c));
    previous_letter = letter;
  }
  return out;
}

// jinja2's `title` filter: words start after whitespace, '-', '(', '{', '['
// or '<'; each word is capitalized.
std::string jinja_title(const std::string& s) {
  std::string out = ascii_lower(s, "title");
  bool word_start = true;
  for (char& c : out) {
    const bool separator = std::isspace(static_cast<unsigned char>(c)) || c == '-' || c == '(' ||
                           c == '{' || c == '[' || c == '<';
    if (word_start && !separator) c = static_cast<char>(std::toupper(c));
    word_start = separator;
  }
  return out;
}

std::string join(const Value& sequence, const std::string& separator, const Value* attribute,
                 bool strings_only) {
  std::string out;
  bool first = true;
  for (const Value& item : iterate(sequence)) {
    const Value v = attribute ? get_attr(item, need_string(*attribute, "join attribute")) : item;
    if (strings_only && !v.is_string()) fail("str.join: expected str items, got {}", v.type_name());
    if (!first) out += separator;
    out += v.str();
    first = false;
  }
  return out;
}

}  // namespace brigade::jinja
