#pragma once
// Splits a Jinja template into tokens the way jinja2's lexer does with the
// settings transformers renders chat templates with:
//   - `trim_blocks=True`: the first newline after a `%}` or `#}` is dropped;
//   - `lstrip_blocks=True`: spaces and tabs from the start of a line up to a
//     `{%` or `{#` are dropped;
//   - `{%-`, `{{-`, `{#-` drop all whitespace before the tag, `-%}`, `-}}`,
//     `-#}` all whitespace after; `{%+`/`+%}` keep it;
//   - newlines are normalised to "\n" and one trailing newline of the source
//     is dropped (keep_trailing_newline=False);
//   - comments vanish.
// Text between tags becomes Data tokens (whitespace control already
// applied); the inside of `{{ }}` and `{% %}` becomes expression tokens.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::jinja {

struct Token {
  enum class Type {
    Data,        // literal text
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,        // identifier or keyword (and, or, not, in, is, if, else, true, ...)
    Int,
    Float,
    String,  // text holds the unescaped value
    Op,      // operator or punctuation: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
    End,
  };
  Type type;
  std::string text;
  int line;  // 1-based line of the token's start in the template
  int64_t int_value = 0;
  double float_value = 0.0;
};

// Tokenizes `source`. Throws Error naming the line for malformed input (an
// unclosed tag, string or comment, a character no token starts with) and for
// `{% raw %}`, which is not supported.
std::vector<Token> tokenize(std::string_view source);

}  // namespace brigade::jinja
