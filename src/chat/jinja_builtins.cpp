#include "chat/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "chat/jinja_strings.h"
#include "util/error.h"

namespace brigade::jinja {
namespace {

// Largest str or list an operator may build; a chat prompt is far below it.
constexpr size_t kMaxBuiltSize = size_t{1} << 26;

// Python ints do not overflow; ours are 64-bit and refuse to.
int64_t checked_op(char op, int64_t x, int64_t y) {
  int64_t r = 0;
  const bool overflow = op == '+'   ? __builtin_add_overflow(x, y, &r)
                        : op == '-' ? __builtin_sub_overflow(x, y, &r)
                                    : __builtin_mul_overflow(x, y, &r);
  if (overflow) fail("integer overflow");
  return r;
}

bool is_int_like(const Value& v) {
  return v.kind() == Value::Kind::Int || v.kind() == Value::Kind::Bool;
}

std::string repeat(const std::string& s, int64_t n) {
  if (n <= 0) return "";
  if (s.size() * static_cast<size_t>(n) > kMaxBuiltSize) fail("repeated string is too long");
  std::string out;
  for (int64_t i = 0; i < n; ++i) out += s;
  return out;
}

bool matches_prefix_or_suffix(const std::string& s, const Value& arg, bool prefix,
                              std::string_view what) {
  if (arg.is_list()) {
    for (const Value& item : arg.as_list())
      if (matches_prefix_or_suffix(s, item, prefix, what)) return true;
    return false;
  }
  const std::string& fix = need_string(arg, what);
  return prefix ? s.starts_with(fix) : s.ends_with(fix);
}

// ---- methods ---------------------------------------------------------------

// Python methods that exist but that this interpreter does not implement:
// looking them up works (`is defined` is true), calling one is refused.
const std::set<std::string, std::less<>> kUnimplementedStrMethods = {
    "casefold",     "center",       "count",     "encode",    "expandtabs",  "format",
    "format_map",   "index",        "isalnum",   "isalpha",   "isascii",     "isdecimal",
    "isdigit",      "isidentifier", "islower",   "isnumeric", "isprintable", "isspace",
    "istitle",      "isupper",      "ljust",     "maketrans", "partition",   "removeprefix",
    "removesuffix", "rfind",        "rindex",    "rjust",     "rpartition",  "rsplit",
    "splitlines",   "swapcase",     "translate", "zfill"};
const std::set<std::string, std::less<>> kUnimplementedDictMethods = {
    "clear", "copy", "fromkeys", "pop", "popitem", "setdefault", "update"};
const std::set<std::string, std::less<>> kUnimplementedListMethods = {
    "append", "clear", "copy",   "count",   "extend", "index",
    "insert", "pop",   "remove", "reverse", "sort"};

Value unimplemented_method(const std::string& type, const std::string& name) {
  return Value::function(type + "." + name, [type, name](const CallArgs&) -> Value {
    fail("unsupported method {}.{}()", type, name);
  });
}

Value str_method(const std::string& self, const std::string& name) {
  const std::string what = "str." + name + "()";
  auto method = [&](std::vector<std::string_view> params, auto body) {
    return Value::function(what, [self, what, params, body](const CallArgs& call) {
      return body(self, Args(what, call, params));
    });
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return method({"chars"}, [left, right](const std::string& s, const Args& a) {
      return Value::string(strip(s, a.get(0), left, right));
    });
  }
  if (name == "startswith" || name == "endswith") {
    const bool prefix = name == "startswith";
    return method({"prefix"}, [prefix, what](const std::string& s, const Args& a) {
      if (!a.get(0)) fail("{} needs an argument", what);
      return Value::boolean(matches_prefix_or_suffix(s, *a.get(0), prefix, what));
    });
  }
  if (name == "split")
    return method({"sep", "maxsplit"}, [](const std::string& s, const Args& a) {
      return split(s, a.get(0), need_int(a.get_or(1, Value::integer(-1)), "split maxsplit"));
    });
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize")
    return method({}, [name, what](const std::string& s, const Args&) {
      if (name == "upper") return Value::string(ascii_upper(s, what));
      if (name == "lower") return Value::string(ascii_lower(s, what));
      if (name == "title") return Value::string(python_title(s));
      return Value::string(capitalize(s, what));
    });
  if (name == "replace")
    return method({"old", "new", "count"}, [what](const std::string& s, const Args& a) {
      if (!a.get(0) || !a.get(1)) fail("{} needs old and new", what);
      return Value::string(replace(s, need_string(*a.get(0), what), need_string(*a.get(1), what),
                                   need_int(a.get_or(2, Value::integer(-1)), what)));
    });
  if (name == "join")
    return method({"iterable"}, [what](const std::string& s, const Args& a) {
      if (!a.get(0)) fail("{} needs an argument", what);
      return Value::string(join(*a.get(0), s, nullptr, true));
    });
  if (name == "find")
    return method({"sub"}, [what](const std::string& s, const Args& a) {
      if (!a.get(0)) fail("{} needs an argument", what);
      const size_t at = s.find(need_string(*a.get(0), what));
      if (at == std::string::npos) return Value::integer(-1);
      return Value::integer(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, at))));
    });
  if (kUnimplementedStrMethods.contains(name)) return unimplemented_method("str", name);
  return Value::undefined(fmt::format("'str object' has no attribute '{}'", name));
}

// A dict's method, or Undefined when `name` is none.
Value dict_method(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Value::function("dict." + name + "()", [self, name](const CallArgs& call) {
      Args("dict." + name + "()", call, {});
      ValueList out;
      for (const auto& [k, v] : self.as_dict().items) {
        if (name == "items")
          out.push_back(Value::tuple({Value::string(k), v}));
        else if (name == "keys")
          out.push_back(Value::string(k));
        else
          out.push_back(v);
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "get") {
    return Value::function("dict.get()", [self](const CallArgs& call) {
      Args a("dict.get()", call, {"key", "default"});
      if (!a.get(0, false)) fail("dict.get() needs a key");
      const Value& key = *a.get(0, false);
      const Value* found = key.is_string() ? self.as_dict().find(key.as_string()) : nullptr;
      return found ? *found : a.get_or(1, Value::none());
    });
  }
  if (kUnimplementedDictMethods.contains(name)) return unimplemented_method("dict", name);
  return Value::undefined("");
}

}  // namespace

// ---- operators ---------------------------------------------------------------

Value unary_operator(std::string_view op, const Value& a) {
  if (a.is_undefined()) undefined_error(a);
  if (!a.is_number()) fail("bad operand type for unary {}: '{}'", op, a.type_name());
  if (op == "+") return a.kind() == Value::Kind::Bool ? Value::integer(a.as_int()) : a;
  if (a.kind() == Value::Kind::Float) return Value::number(-a.as_float());
  return Value::integer(checked_op('-', 0, a.as_int()));
}

Value binary_operator(std::string_view op, const Value& a, const Value& b) {
  if (op == "~") return Value::string(a.str() + b.str());
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  auto unsupported = [&]() -> Value {
    fail("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
  };
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::string(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      ValueList items = a.as_list();
      items.insert(items.end(), b.as_list().begin(), b.as_list().end());
      return a.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
  }
  if (op == "*") {
    if (a.is_string() && is_int_like(b)) return Value::string(repeat(a.as_string(), b.as_int()));
    if (is_int_like(a) && b.is_string()) return Value::string(repeat(b.as_string(), a.as_int()));
    if (a.is_list() && is_int_like(b)) {
      ValueList items;
      if (a.as_list().size() * static_cast<size_t>(std::max<int64_t>(0, b.as_int())) >
          kMaxBuiltSize)
        fail("repeated list is too long");
      for (int64_t i = 0; i < b.as_int(); ++i)
        items.insert(items.end(), a.as_list().begin(), a.as_list().end());
      return a.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
  }
  if (op == "%" && a.is_string()) fail("printf-style string formatting ('%') is not supported");
  if (!a.is_number() || !b.is_number()) return unsupported();
  const bool floats = a.kind() == Value::Kind::Float || b.kind() == Value::Kind::Float;
  if (op == "/") {
    if (b.as_float() == 0.0) fail("division by zero");
    return Value::number(a.as_float() / b.as_float());
  }
  if (floats) {
    const double x = a.as_float(), y = b.as_float();
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (op == "**") return Value::number(std::pow(x, y));
    if (y == 0.0) fail("float division by zero");
    if (op == "//") return Value::number(std::floor(x / y));
    if (op == "%") {
      double r = std::fmod(x, y);
      if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
      return Value::number(r);
    }
    return unsupported();
  }
  const int64_t x = a.as_int(), y = b.as_int();
  if (op == "+" || op == "-" || op == "*") return Value::integer(checked_op(op[0], x, y));
  if (op == "**") {
    if (y < 0) return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
    int64_t result = 1;
    for (int64_t i = 0; i < y; ++i) {
      result = checked_op('*', result, x);
      if (result == 0 || result == 1) break;
    }
    return Value::integer(result);
  }
  if (y == 0) fail("integer division or modulo by zero");
  if (x == std::numeric_limits<int64_t>::min() && y == -1) fail("integer overflow");
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {
    --q;
    m += y;
  }
  if (op == "//") return Value::integer(q);
  if (op == "%") return Value::integer(m);
  return unsupported();
}

void undefined_error(const Value& v) {
  fail("{}", v.undefined_what().empty() ? "undefined value" : v.undefined_what());
}

bool compare_operator(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return contains(b, a);
  if (op == "not in") return !contains(b, a);
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const int c = compare(a, b);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined:
      return false;
    case Value::Kind::String:
      return container.as_string().find(need_string(item, "'in <str>'")) != std::string::npos;
    case Value::Kind::List:
      for (const Value& v : container.as_list())
        if (equals(v, item)) return true;
      return false;
    case Value::Kind::Dict:
      return item.is_string() && container.as_dict().find(item.as_string());
    default:
      fail("argument of type '{}' is not iterable", container.type_name());
  }
}

// ---- lookups -----------------------------------------------------------------

Value get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::Undefined:
      undefined_error(obj);
    case Value::Kind::String:
      return str_method(obj.as_string(), name);
    case Value::Kind::Dict: {
      Value method = dict_method(obj, name);
      if (!method.is_undefined()) return method;
      if (const Value* v = obj.as_dict().find(name)) return *v;
      return Value::undefined(fmt::format("'dict object' has no attribute '{}'", name));
    }
    case Value::Kind::Namespace:
      if (const Value* v = obj.as_dict().find(name)) return *v;
      return Value::undefined(fmt::format("'Namespace object' has no attribute '{}'", name));
    case Value::Kind::List:
      if (kUnimplementedListMethods.contains(name)) return unimplemented_method("list", name);
      [[fallthrough]];
    default:
      return Value::undefined(
          fmt::format("'{} object' has no attribute '{}'", obj.type_name(), name));
  }
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if ((obj.is_list() || obj.is_string()) && is_int_like(key)) {
    const int64_t size = obj.is_list() ? static_cast<int64_t>(obj.as_list().size())
                                       : static_cast<int64_t>(utf8_length(obj.as_string()));
    int64_t i = key.as_int();
    if (i < 0) i += size;
    if (i < 0 || i >= size)
      return Value::undefined(fmt::format("{} index {} out of range", obj.type_name(), key.str()));
    if (obj.is_list()) return obj.as_list()[i];
    const auto bounds = utf8_boundaries(obj.as_string());
    return Value::string(obj.as_string().substr(bounds[i], bounds[i + 1] - bounds[i]));
  }
  if (obj.is_dict() && key.is_string()) {
    if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
  }
  // jinja2 falls back to the attribute for a str subscript (`d['items']`).
  if (key.is_string()) {
    Value attribute = get_attr(obj, key.as_string());
    if (!attribute.is_undefined()) return attribute;
  }
  return Value::undefined(
      fmt::format("'{} object' has no element {}", obj.type_name(), key.repr()));
}

Value get_slice(const Value& obj, const Value* start, const Value* stop, const Value* step) {
  if (obj.is_undefined()) undefined_error(obj);
  if (!obj.is_list() && !obj.is_string()) fail("'{}' object is not sliceable", obj.type_name());
  auto bound = [](const Value* v) -> const Value* {
    if (v && !v->is_none() && !is_int_like(*v))
      fail("slice indices must be integers or None, got {}", v->type_name());
    return v && !v->is_none() ? v : nullptr;
  };
  start = bound(start);
  stop = bound(stop);
  step = bound(step);
  const int64_t s = step ? step->as_int() : 1;
  if (s == 0) fail("slice step cannot be zero");
  std::vector<size_t> bounds;
  int64_t length;
  if (obj.is_list()) {
    length = static_cast<int64_t>(obj.as_list().size());
  } else {
    bounds = utf8_boundaries(obj.as_string());
    length = static_cast<int64_t>(bounds.size()) - 1;
  }
  // Python's slice.indices().
  const int64_t lower = s < 0 ? -1 : 0, upper = s < 0 ? length - 1 : length;
  auto clamp = [&](const Value* v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = v->as_int();
    if (i < 0)
      i = std::max(i + length, lower);
    else
      i = std::min(i, upper);
    return i;
  };
  const int64_t first = clamp(start, s < 0 ? upper : lower);
  const int64_t last = clamp(stop, s < 0 ? lower : upper);
  ValueList items;
  std::string text;
  for (int64_t i = first; s > 0 ? i < last : i > last; i += s) {
    if (obj.is_list())
      items.push_back(obj.as_list()[i]);
    else
      text += obj.as_string().substr(bounds[i], bounds[i + 1] - bounds[i]);
  }
  if (obj.is_tuple()) return Value::tuple(std::move(items));
  return obj.is_list() ? Value::list(std::move(items)) : Value::string(std::move(text));
}

ValueList iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::List:
      return v.as_list();
    case Value::Kind::Dict: {
      ValueList keys;
      for (const auto& [k, _] : v.as_dict().items) keys.push_back(Value::string(k));
      return keys;
    }
    case Value::Kind::String: {
      ValueList chars;
      const auto bounds = utf8_boundaries(v.as_string());
      for (size_t i = 0; i + 1 < bounds.size(); ++i)
        chars.push_back(Value::string(v.as_string().substr(bounds[i], bounds[i + 1] - bounds[i])));
      return chars;
    }
    default:
      fail("'{}' object is not iterable", v.type_name());
  }
}

Value builtin_global(const std::string& name) {
  if (name == "namespace" || name == "dict") {
    const bool is_namespace = name == "namespace";
    return Value::function(name, [is_namespace, name](const CallArgs& call) {
      ValueDict attributes;
      if (call.positional.size() > 1) fail("{}() takes at most one positional argument", name);
      if (!call.positional.empty()) {
        const Value& initial = call.positional[0];
        if (!initial.is_dict() && initial.kind() != Value::Kind::Namespace)
          fail("{}() needs a mapping as positional argument", name);
        attributes = initial.as_dict();
      }
      for (const auto& [k, v] : call.keyword) attributes.set(k, v);
      return is_namespace ? Value::namespace_object(std::move(attributes))
                          : Value::dict(std::move(attributes));
    });
  }
  if (name == "range") {
    return Value::function("range", [](const CallArgs& call) {
      if (!call.keyword.empty()) fail("range() takes no keyword arguments");
      const auto& p = call.positional;
      if (p.empty() || p.size() > 3) fail("range() takes 1 to 3 arguments");
      int64_t start = 0, stop, step = 1;
      if (p.size() == 1) {
        stop = need_int(p[0], "range()");
      } else {
        start = need_int(p[0], "range()");
        stop = need_int(p[1], "range()");
        if (p.size() == 3) step = need_int(p[2], "range()");
      }
      if (step == 0) fail("range() arg 3 must not be zero");
      ValueList items;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (items.size() >= 100000) fail("range too big, maximum size for range is 100000");
        items.push_back(Value::integer(i));
      }
      return Value::list(std::move(items));
    });
  }
  if (name == "lipsum" || name == "cycler" || name == "joiner") {
    return Value::function(
        name, [name](const CallArgs&) -> Value { fail("unsupported global function '{}'", name); });
  }
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

}  // namespace brigade::jinja
