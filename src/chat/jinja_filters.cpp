#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "chat/jinja_builtins.h"
#include "chat/jinja_strings.h"
#include "util/error.h"

namespace brigade::jinja {
namespace {

// ---- filters ---------------------------------------------------------------

std::string filter_what(const std::string& name) { return "filter '" + name + "'"; }

JsonOptions json_options(const Args& a) {
  JsonOptions o;
  if (const Value* v = a.get(0)) o.ensure_ascii = v->truthy();
  if (const Value* v = a.get(1)) {
    if (v->is_string()) {
      o.indent = 0;
      o.indent_text = v->as_string();
    } else {
      o.indent = static_cast<int>(std::max<int64_t>(0, need_int(*v, "tojson indent")));
    }
  }
  if (const Value* v = a.get(2)) {
    if (!v->is_list() || v->as_list().size() != 2)
      fail("tojson separators must be a pair of strings");
    o.item_separator = need_string(v->as_list()[0], "tojson separators");
    o.key_separator = need_string(v->as_list()[1], "tojson separators");
    if (o.item_separator.empty()) fail("tojson: an empty item separator is not supported");
  }
  if (const Value* v = a.get(3)) o.sort_keys = v->truthy();
  return o;
}

// Python's float(s) for a stripped str without '_'; strtod would also take
// hexadecimal and nan(...) forms, which Python refuses.
bool parse_python_float(const std::string& s, double& out) {
  if (s.empty() || s.find_first_of("xX()") != std::string::npos) return false;
  try {
    size_t used = 0;
    out = std::stod(s, &used);
    return used == s.size();
  } catch (const std::exception&) {
    return false;
  }
}

Value to_int(const Value& v, const Value& fallback, int64_t base) {
  if (v.kind() == Value::Kind::Int || v.kind() == Value::Kind::Bool)
    return Value::integer(v.as_int());
  if (v.kind() == Value::Kind::Float) {
    if (!std::isfinite(v.as_float())) return fallback;
    return Value::integer(static_cast<int64_t>(std::trunc(v.as_float())));
  }
  if (!v.is_string()) return fallback;
  std::string s = strip(v.as_string(), nullptr, true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  try {
    size_t used = 0;
    const int64_t i = std::stoll(s, &used, static_cast<int>(base));
    if (used == s.size()) return Value::integer(i);
  } catch (const std::exception&) {
  }
  double d = 0;  // jinja2 falls back to int(float(s))
  if (parse_python_float(s, d) && std::isfinite(d) && std::fabs(d) < 9.2e18)
    return Value::integer(static_cast<int64_t>(std::trunc(d)));
  return fallback;
}

Value to_float(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value::number(v.as_float());
  if (!v.is_string()) return fallback;
  std::string s = strip(v.as_string(), nullptr, true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  double d = 0;
  return parse_python_float(s, d) ? Value::number(d) : fallback;
}

// select/reject/selectattr/rejectattr: keeps the items for which the test
// (default: truth) is `keep`.
Value select_items(const Value& input, const CallArgs& args, bool by_attribute, bool keep,
                   const std::string& what) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) fail("{} needs an attribute name", what);
    attribute = need_string(args.positional[next++], what);
  }
  std::string test;
  if (next < args.positional.size()) test = need_string(args.positional[next++], what);
  if (!args.keyword.empty()) fail("{} takes no keyword arguments", what);
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + next, args.positional.end());
  ValueList out;
  for (const Value& item : iterate(input)) {
    const Value subject = by_attribute ? get_attr(item, attribute) : item;
    const bool passed = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    if (passed == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_items(const Value& input, const CallArgs& args) {
  ValueList out;
  if (args.positional.empty()) {
    Args a("filter 'map'", args, {"attribute", "default"});
    if (!a.get(0)) fail("filter 'map' needs a filter name or attribute=");
    const std::string& attribute = need_string(*a.get(0), "map attribute");
    for (const Value& item : iterate(input)) {
      Value v = get_attr(item, attribute);
      if (v.is_undefined() && a.get(1, false)) v = *a.get(1, false);
      out.push_back(std::move(v));
    }
    return Value::list(std::move(out));
  }
  const std::string& filter = need_string(args.positional[0], "map filter name");
  CallArgs rest{{args.positional.begin() + 1, args.positional.end()}, args.keyword};
  for (const Value& item : iterate(input)) out.push_back(apply_filter(filter, item, rest));
  return Value::list(std::move(out));
}

using FilterFn = Value (*)(const std::string& name, const Value& input, const CallArgs& args);

const std::map<std::string, FilterFn, std::less<>>& filters() {
  static const std::map<std::string, FilterFn, std::less<>> table = {
      {"trim",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"chars"});
         return Value::string(strip(in.str(), a.get(0), true, true));
       }},
      {"length",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         switch (in.kind()) {
           case Value::Kind::Undefined:
             return Value::integer(0);
           case Value::Kind::String:
             return Value::integer(static_cast<int64_t>(utf8_length(in.as_string())));
           case Value::Kind::List:
             return Value::integer(static_cast<int64_t>(in.as_list().size()));
           case Value::Kind::Dict:
             return Value::integer(static_cast<int64_t>(in.as_dict().items.size()));
           default:
             fail("object of type '{}' has no len()", in.type_name());
         }
       }},
      {"tojson",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"ensure_ascii", "indent", "separators", "sort_keys"});
         return Value::string(to_json(in, json_options(a)));
       }},
      {"string",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::string(in.str());
       }},
      {"default",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"default_value", "boolean"});
         const bool use_default =
             in.is_undefined() || (a.get_or(1, Value::boolean(false)).truthy() && !in.truthy());
         return use_default ? a.get_or(0, Value::string("")) : in;
       }},
      {"upper",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::string(ascii_upper(in.str(), filter_what(n)));
       }},
      {"lower",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::string(ascii_lower(in.str(), filter_what(n)));
       }},
      {"capitalize",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::string(capitalize(in.str(), filter_what(n)));
       }},
      {"title",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::string(jinja_title(in.str()));
       }},
      {"first",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         const ValueList items = iterate(in);
         return items.empty() ? Value::undefined("No first item, sequence was empty.")
                              : items.front();
       }},
      {"last",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         const ValueList items = iterate(in);
         return items.empty() ? Value::undefined("No last item, sequence was empty.")
                              : items.back();
       }},
      {"join",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"d", "attribute"});
         const Value separator = a.get_or(0, Value::string(""));
         return Value::string(join(in, separator.str(), a.get(1), false));
       }},
      {"replace",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"old", "new", "count"});
         if (!a.get(0) || !a.get(1)) fail("filter 'replace' needs old and new");
         const Value* count = a.get(2);
         return Value::string(replace(in.str(), a.get(0)->str(), a.get(1)->str(),
                                      count ? need_int(*count, "replace count") : -1));
       }},
      {"items",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         if (in.is_undefined()) return Value::list({});
         if (!in.is_dict()) fail("filter 'items' needs a mapping, got {}", in.type_name());
         return get_attr(in, "items").as_function().call({});
       }},
      {"list",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::list(iterate(in));
       }},
      {"reverse",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         if (in.is_string()) {
           std::u32string cps = utf8_decode(in.as_string());
           std::reverse(cps.begin(), cps.end());
           return Value::string(utf8_encode(cps));
         }
         ValueList items = iterate(in);
         std::reverse(items.begin(), items.end());
         return Value::list(std::move(items));
       }},
      {"int",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"default", "base"});
         return to_int(in, a.get_or(0, Value::integer(0)),
                       need_int(a.get_or(1, Value::integer(10)), "int base"));
       }},
      {"float",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args a(filter_what(n), c, {"default"});
         return to_float(in, a.get_or(0, Value::number(0.0)));
       }},
      {"abs",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         if (in.kind() == Value::Kind::Float) return Value::number(std::fabs(in.as_float()));
         const int64_t i = need_int(in, "filter 'abs'");
         if (i == std::numeric_limits<int64_t>::min()) fail("integer overflow");
         return Value::integer(i < 0 ? -i : i);
       }},
      {"safe",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         Args(filter_what(n), c, {});
         return Value::string(in.str());
       }},
      {"map",
       [](const std::string&, const Value& in, const CallArgs& c) { return map_items(in, c); }},
      {"select",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         return select_items(in, c, false, true, filter_what(n));
       }},
      {"reject",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         return select_items(in, c, false, false, filter_what(n));
       }},
      {"selectattr",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         return select_items(in, c, true, true, filter_what(n));
       }},
      {"rejectattr",
       [](const std::string& n, const Value& in, const CallArgs& c) {
         return select_items(in, c, true, false, filter_what(n));
       }},
  };
  return table;
}

const std::map<std::string_view, std::string_view>& filter_aliases() {
  static const std::map<std::string_view, std::string_view> aliases = {{"count", "length"},
                                                                       {"d", "default"}};
  return aliases;
}

// ---- tests -----------------------------------------------------------------

const std::map<std::string, std::string, std::less<>>& comparison_tests() {
  static const std::map<std::string, std::string, std::less<>> table = {
      {"eq", "=="}, {"equalto", "=="},    {"==", "=="}, {"ne", "!="}, {"!=", "!="},
      {"lt", "<"},  {"lessthan", "<"},    {"<", "<"},   {"le", "<="}, {"<=", "<="},
      {"gt", ">"},  {"greaterthan", ">"}, {">", ">"},   {"ge", ">="}, {">=", ">="}};
  return table;
}

const std::set<std::string, std::less<>> kTests = {
    "defined", "undefined", "none",        "string",  "number",   "integer",  "float",
    "boolean", "true",      "false",       "mapping", "iterable", "sequence", "callable",
    "even",    "odd",       "divisibleby", "in",      "sameas",   "lower",    "upper"};

}  // namespace

bool is_supported_filter(std::string_view name) {
  return filters().contains(name) || filter_aliases().contains(name);
}

bool is_supported_test(std::string_view name) {
  return kTests.contains(name) || comparison_tests().contains(name);
}

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args) {
  auto alias = filter_aliases().find(name);
  const std::string_view canonical = alias == filter_aliases().end() ? name : alias->second;
  auto it = filters().find(canonical);
  if (it == filters().end()) fail("unsupported filter '{}'", name);  // jinja2 has more
  return it->second(name, input, args);
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& args) {
  using K = Value::Kind;
  const std::string what = "test '" + name + "'";
  if (auto cmp = comparison_tests().find(name); cmp != comparison_tests().end()) {
    Args a(what, args, {"other"});
    if (!a.get(0, false)) fail("{} needs an argument", what);
    return compare_operator(cmp->second, v, *a.get(0, false));
  }
  if (name == "divisibleby" || name == "in" || name == "sameas") {
    Args a(what, args, {"other"});
    if (!a.get(0, false)) fail("{} needs an argument", what);
    const Value& other = *a.get(0, false);
    if (name == "in") return contains(other, v);
    if (name == "divisibleby") {
      const int64_t d = need_int(other, what);
      if (d == 0) fail("integer division or modulo by zero");
      return need_int(v, what) % d == 0;
    }
    // `is sameas`: Python identity, which is defined for None, booleans and
    // shared objects; for strs and numbers it is an implementation detail.
    if (v.kind() != other.kind()) return false;
    switch (v.kind()) {
      case K::None:
        return true;
      case K::Undefined:  // each lookup makes a new Undefined object
        return false;
      case K::Bool:
        return v.as_bool() == other.as_bool();
      case K::List:
        return &v.as_list() == &other.as_list();
      case K::Dict:
      case K::Namespace:
        return &v.as_dict() == &other.as_dict();
      case K::Function:
        return &v.as_function() == &other.as_function();
      default:
        fail("test 'sameas' on a {} is not supported", v.type_name());
    }
  }
  Args(what, args, {});
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind() == K::Int;
  if (name == "float") return v.kind() == K::Float;
  if (name == "boolean") return v.kind() == K::Bool;
  if (name == "true") return v.kind() == K::Bool && v.as_bool();
  if (name == "false") return v.kind() == K::Bool && !v.as_bool();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" || name == "sequence")
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.kind() == K::Function;
  if (name == "even" || name == "odd") {
    const int64_t i = need_int(v, what);
    return (i % 2 == 0) == (name == "even");
  }
  if (name == "lower" || name == "upper") {
    const std::string& s = need_string(v, what);
    require_ascii(s, what);
    bool cased = false;
    for (unsigned char c : s) {
      if (!std::isalpha(c)) continue;
      cased = true;
      if ((name == "lower") != static_cast<bool>(std::islower(c))) return false;
    }
    return cased;
  }
  fail("unsupported test '{}'", name);
}

}  // namespace brigade::jinja
