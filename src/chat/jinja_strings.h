#pragma once
// Python's str operations on UTF-8 text (by code point, as Python counts) and
// the binding of call arguments to parameters, shared by the str methods
// (jinja_builtins.cpp) and the filters (jinja_filters.cpp). Internal to
// src/chat; errors are Errors without a line (the evaluator adds it).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_value.h"
#include "util/error.h"

namespace brigade::jinja {

// Binds the arguments of a filter, test, method or function to its
// parameters by position, then by keyword; too many or unknown ones are
// refused.
class Args {
 public:
  Args(std::string_view what, const CallArgs& args, std::vector<std::string_view> params)
      : values_(params.size()) {
    if (args.positional.size() > params.size())
      fail("{} takes at most {} argument(s), got {}", what, params.size(), args.positional.size());
    for (size_t i = 0; i < args.positional.size(); ++i) values_[i] = &args.positional[i];
    for (const auto& [key, value] : args.keyword) {
      auto it = std::find(params.begin(), params.end(), key);
      if (it == params.end()) fail("{} got an unexpected argument '{}'", what, key);
      values_[it - params.begin()] = &value;
    }
  }
  // The argument, or null when not given (or given as None when none_is_absent).
  const Value* get(size_t i, bool none_is_absent = true) const {
    const Value* v = values_[i];
    return v && !(none_is_absent && v->is_none()) ? v : nullptr;
  }
  Value get_or(size_t i, Value fallback) const {
    return values_[i] ? *values_[i] : std::move(fallback);
  }

 private:
  std::vector<const Value*> values_;
};

// The argument as a str / int (bool counts); Error naming `what` otherwise.
const std::string& need_string(const Value& v, std::string_view what);
int64_t need_int(const Value& v, std::string_view what);

// str.strip/lstrip/rstrip(chars): `chars` null strips Python whitespace.
std::string strip(const std::string& s, const Value* chars, bool left, bool right);
// str.split(sep, maxsplit): `sep` null splits on runs of whitespace.
Value split(const std::string& s, const Value* sep, int64_t maxsplit);
// str.replace(old, new, count); count < 0 replaces all.
std::string replace(const std::string& s, const std::string& old, const std::string& with,
                    int64_t count);
// Case mapping is only implemented for ASCII text: Python maps every Unicode
// letter (and some to several letters), which a per-byte table cannot. These
// throw Error naming `what` for non-ASCII text.
void require_ascii(const std::string& s, std::string_view what);
std::string ascii_upper(std::string s, std::string_view what);
std::string ascii_lower(std::string s, std::string_view what);
std::string capitalize(const std::string& s, std::string_view what);
// Python's str.title().
std::string python_title(const std::string& s);
// jinja2's `title` filter (words start after whitespace, '-', '(', '{', '[',
// '<').
std::string jinja_title(const std::string& s);
// str(item) (or of item.attribute) of each item of `sequence`, joined;
// `strings_only` refuses non-str items as str.join() does.
std::string join(const Value& sequence, const std::string& separator, const Value* attribute,
                 bool strings_only);

}  // namespace brigade::jinja
