#include "chat/jinja_lexer.h"

#include <algorithm>
#include <cctype>

#include "chat/jinja_strings.h"
#include "chat/jinja_value.h"
#include "util/error.h"

namespace brigade::jinja {
namespace {

bool all_whitespace(std::string_view text) {
  for (char32_t cp : utf8_decode(text))
    if (!is_python_space(cp)) return false;
  return true;
}

int count_newlines(std::string_view text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Unescapes a string literal body as Python's "unicode-escape" codec does
// (which is what jinja2 applies to string literals).
std::string unescape(std::string_view body, int line) {
  std::string out;
  auto hex_value = [&](size_t at, size_t digits) -> char32_t {
    if (at + digits > body.size()) fail("chat template line {}: truncated \\x/\\u escape", line);
    char32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      const char c = body[at + k];
      if (!std::isxdigit(static_cast<unsigned char>(c)))
        fail("chat template line {}: bad hex digit in escape", line);
      v = v * 16 +
          static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(c))
                                    ? c - '0'
                                    : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    return v;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    switch (c) {
      case '\n':
        break;
      case '\\':
      case '\'':
      case '"':
        out += c;
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        const char32_t cp = hex_value(i + 1, digits);
        i += digits;
        out += utf8_encode(std::u32string_view(&cp, 1));
        break;
      }
      case 'N':
        fail("chat template line {}: \\N{{...}} escapes are not supported", line);
      default:
        if (c >= '0' && c <= '7') {
          char32_t cp = 0;
          size_t k = 0;
          for (; k < 3 && i + k < body.size() && body[i + k] >= '0' && body[i + k] <= '7'; ++k)
            cp = cp * 8 + static_cast<char32_t>(body[i + k] - '0');
          i += k - 1;
          out += utf8_encode(std::u32string_view(&cp, 1));
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t open = find_tag_open(pos_);
      std::string text = src_.substr(pos_, open == std::string::npos ? open : open - pos_);
      if (open == std::string::npos) {
        emit_data(text);
        break;
      }
      const char kind = src_[open + 1];
      const char modifier = open + 2 < src_.size() ? src_[open + 2] : '\0';
      const int text_line = line_;
      line_ += count_newlines(text);
      if (modifier == '-') {
        text = strip(text, nullptr, false, true);  // Python's str.rstrip()
      } else if (modifier != '+' && kind != '{') {
        const size_t line_start = text.rfind('\n') + 1;  // npos + 1 == 0
        if ((line_start > 0 || line_starting_) &&
            all_whitespace(std::string_view(text).substr(line_start)))
          text.resize(line_start);
      }
      emit_data(text, text_line);
      pos_ = open + 2 + (modifier == '-' || modifier == '+' ? 1 : 0);
      if (kind == '#') {
        skip_comment();
      } else {
        lex_tag(kind == '{');
      }
    }
    tokens_.push_back(Token{Token::Type::End, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag_open(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    }
    return std::string::npos;
  }

  void emit_data(const std::string& text, int line = -1) {
    if (text.empty()) return;
    tokens_.push_back(Token{Token::Type::Data, text, line < 0 ? line_ : line});
  }

  // After a tag's closing marker: `-` strips all whitespace, `+` nothing,
  // otherwise (block or comment) trim_blocks drops one newline.
  void after_close(char modifier, bool trims_newline) {
    if (modifier == '-') {
      while (pos_ < src_.size()) {
        const size_t next = utf8_boundaries(std::string_view(src_).substr(pos_, 4))[1];
        if (!is_python_space(utf8_decode(std::string_view(src_).substr(pos_, next))[0])) break;
        if (src_[pos_] == '\n') ++line_;
        pos_ += next;
      }
    } else if (modifier != '+' && trims_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
    line_starting_ = pos_ > 0 && src_[pos_ - 1] == '\n';
  }

  void skip_comment() {
    const int start_line = line_;
    const size_t close = src_.find("#}", pos_);
    if (close == std::string::npos) fail("chat template line {}: unclosed comment", start_line);
    const char modifier = close > pos_ ? src_[close - 1] : '\0';
    line_ += count_newlines(std::string_view(src_).substr(pos_, close - pos_));
    pos_ = close + 2;
    after_close(modifier, true);
  }

  void lex_tag(bool variable) {
    const int start_line = line_;
    tokens_.push_back(
        Token{variable ? Token::Type::VarBegin : Token::Type::BlockBegin, "", start_line});
    const size_t first = tokens_.size();
    int depth = 0;  // open brackets: a `}}` inside `{'a': {'b': 1}}` closes a dict
    while (true) {
      while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size())
        fail("chat template line {}: unclosed '{}'", start_line, variable ? "{{" : "{%");
      if (depth == 0) {
        const std::string_view rest = std::string_view(src_).substr(pos_);
        const std::string_view close = variable ? "}}" : "%}";
        char modifier = '\0';
        size_t length = 0;
        if (rest.starts_with(close)) {
          length = 2;
        } else if ((rest[0] == '-' || (!variable && rest[0] == '+')) &&
                   rest.substr(1).starts_with(close)) {
          modifier = rest[0];
          length = 3;
        }
        if (length) {
          if (!variable && tokens_.size() > first && tokens_[first].type == Token::Type::Name &&
              tokens_[first].text == "raw")
            fail("chat template line {}: unsupported tag 'raw'", start_line);
          tokens_.push_back(
              Token{variable ? Token::Type::VarEnd : Token::Type::BlockEnd, "", line_});
          pos_ += length;
          after_close(modifier, !variable);
          return;
        }
      }
      lex_expression_token(depth);
    }
  }

  void lex_expression_token(int& depth) {
    const char c = src_[pos_];
    const size_t start = pos_;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos_ < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_'))
        ++pos_;
      tokens_.push_back(Token{Token::Type::Name, src_.substr(start, pos_ - start), line_});
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      lex_number();
      return;
    }
    if (c == '\'' || c == '"') {
      const int start_line = line_;
      size_t i = pos_ + 1;
      while (i < src_.size() && src_[i] != c) {
        if (src_[i] == '\\') ++i;
        ++i;
      }
      if (i >= src_.size()) fail("chat template line {}: unterminated string literal", start_line);
      const std::string_view body = std::string_view(src_).substr(pos_ + 1, i - pos_ - 1);
      line_ += count_newlines(body);
      tokens_.push_back(Token{Token::Type::String, unescape(body, start_line), start_line});
      pos_ = i + 1;
      return;
    }
    static const char* kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                       "/",  "%",  "~",  "<",  ">",  "=",  ".", ",", ":",
                                       "|",  "(",  ")",  "[",  "]",  "{",  "}"};
    for (const char* op : kOperators) {
      if (std::string_view(src_).substr(pos_).starts_with(op)) {
        const std::string text = op;
        if (text == "(" || text == "[" || text == "{") ++depth;
        if ((text == ")" || text == "]" || text == "}") && depth > 0) --depth;
        tokens_.push_back(Token{Token::Type::Op, text, line_});
        pos_ += text.size();
        return;
      }
    }
    fail("chat template line {}: unexpected character '{}'", line_, c);
  }

  // Digits with optional `_` separators; a float needs digits after the dot
  // or an exponent. After a `.` (as in `x.0`) only an integer is read.
  // Integers may be 0b/0o/0x literals; other leading zeros are an error.
  void lex_number() {
    if (src_[pos_] == '0' && pos_ + 2 < src_.size() &&
        std::string_view("bBoOxX").find(src_[pos_ + 1]) != std::string_view::npos &&
        std::isxdigit(static_cast<unsigned char>(src_[pos_ + 2]))) {
      const char radix =
          static_cast<char>(std::tolower(static_cast<unsigned char>(src_[pos_ + 1])));
      const int base = radix == 'b' ? 2 : radix == 'o' ? 8 : 16;
      size_t end = pos_ + 2;
      std::string digits;
      while (end < src_.size() &&
             (std::isxdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) {
        if (src_[end] != '_') digits += src_[end];
        ++end;
      }
      Token token{Token::Type::Int, src_.substr(pos_, end - pos_), line_};
      try {
        size_t used = 0;
        token.int_value = std::stoll(digits, &used, base);
        if (used != digits.size()) throw std::invalid_argument("digits");
      } catch (const std::exception&) {
        fail("chat template line {}: invalid integer literal '{}'", line_, token.text);
      }
      pos_ = end;
      tokens_.push_back(std::move(token));
      return;
    }
    auto digits = [&] {
      std::string out;
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) ||
                                    (src_[pos_] == '_' && pos_ + 1 < src_.size() &&
                                     std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))))) {
        if (src_[pos_] != '_') out += src_[pos_];
        ++pos_;
      }
      return out;
    };
    std::string text = digits();
    bool is_float = false;
    const bool after_dot =
        !tokens_.empty() && tokens_.back().type == Token::Type::Op && tokens_.back().text == ".";
    if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      ++pos_;
      text += "." + digits();
      is_float = true;
    }
    if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        text += "e" + src_.substr(pos_ + 1, p - pos_ - 1);
        pos_ = p;
        text += digits();
        is_float = true;
      }
    }
    if (!is_float && text.size() > 1 && text[0] == '0' &&
        text.find_first_not_of('0') != std::string::npos)
      fail("chat template line {}: invalid integer literal '{}' (leading zero)", line_, text);
    Token token{is_float ? Token::Type::Float : Token::Type::Int, text, line_};
    try {
      if (is_float)
        token.float_value = std::stod(text);
      else
        token.int_value = std::stoll(text);
    } catch (const std::exception&) {
      fail("chat template line {}: number '{}' is out of range", line_, text);
    }
    tokens_.push_back(std::move(token));
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  // Newlines are normalised to "\n" and one trailing newline is dropped, as
  // jinja2 does before lexing.
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src += source[i];
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src)).run();
}

}  // namespace brigade::jinja
