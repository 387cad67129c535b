#pragma once
// The values a chat template computes with: the Python objects that jinja2
// hands around when transformers renders a template (None, bool, int, float,
// str, list, dict, jinja's Undefined and Namespace, and callables), with
// Python's semantics for truth, equality, ordering, str(), repr() and
// json.dumps(). Lists and dicts are immutable once built (transformers renders
// in jinja's ImmutableSandboxedEnvironment); a namespace is the one mutable,
// shared object (`{% set ns.x = ... %}`).
//
// Strings are UTF-8. Python counts and indexes a str by code point; so do the
// helpers here (utf8_length, the slices in jinja_eval).

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brigade::jinja {

class Value;
using ValueList = std::vector<Value>;

// A dict keeps insertion order, as Python's does; keys are strings (chat
// templates and JSON only ever use string keys; a template literal with another
// key type is refused).
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;

  const Value* find(std::string_view key) const;
  // Replaces the value of `key` or appends the pair.
  void set(const std::string& key, Value value);
};

// The arguments of a call: positional, then keyword in call order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A callable: a global (namespace, range, raise_exception, ...), a macro or a
// bound method. `name` is used in error messages.
struct Function {
  std::string name;
  std::function<Value(const CallArgs&)> call;
};

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

  // Undefined. `what` says what was looked up ("'x' is undefined", "'dict
  // object' has no attribute 'y'") and becomes the message of the error
  // raised when the value is used in a way Undefined forbids.
  Value() = default;
  static Value undefined(std::string what);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);
  static Value string(std::string s);
  static Value list(ValueList items);
  // A Python tuple: a list that prints as (a, b) and never equals a list.
  static Value tuple(ValueList items);
  static Value dict(ValueDict dict);
  static Value namespace_object(ValueDict attributes);
  static Value function(std::string name, std::function<Value(const CallArgs&)> call);
  // JSON → Value: objects become dicts (order kept), arrays lists.
  static Value from_json(const nlohmann::ordered_json& json);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }  // list or tuple
  bool is_tuple() const { return kind_ == Kind::List && tuple_; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  // Python's numbers.Number: bool, int, float.
  bool is_number() const {
    return kind_ == Kind::Bool || kind_ == Kind::Int || kind_ == Kind::Float;
  }

  // REQUIRES: the matching kind (Bool/Int for as_int: True is 1).
  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }
  double as_float() const { return kind_ == Kind::Float ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return string_; }
  const ValueList& as_list() const { return *list_; }
  const ValueDict& as_dict() const { return *dict_; }  // Dict or Namespace
  ValueDict& namespace_attributes() const { return *dict_; }
  const Function& as_function() const { return *function_; }
  // For Undefined: what was looked up.
  const std::string& undefined_what() const { return string_; }

  // Python truth value (Undefined is false, a namespace or function true).
  bool truthy() const;
  // The Python type name used in messages: "str", "int", "dict", "undefined"...
  std::string type_name() const;
  // Python str(x) (what `{{ x }}` prints; Undefined prints nothing).
  // Throws Error for a namespace or function, whose str() is an address.
  std::string str() const;
  // Python repr(x) (how str() prints the items of a list or dict).
  std::string repr() const;

 private:
  Kind kind_ = Kind::Undefined;
  bool tuple_ = false;  // List
  int64_t int_ = 0;     // Bool, Int
  double float_ = 0.0;  // Float
  std::string string_;  // String; Undefined: what
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<ValueDict> dict_;  // Dict (never mutated) or Namespace
  std::shared_ptr<const Function> function_;
};

// Python `a == b` (1 == 1.0 == True; Undefined equals only Undefined).
bool equals(const Value& a, const Value& b);
// Python ordering: negative, zero or positive. Throws Error for types Python
// cannot order ("'<' not supported between 'str' and 'int'").
int compare(const Value& a, const Value& b);

// Options of json.dumps as transformers' `tojson` filter exposes them.
struct JsonOptions {
  int indent = -1;             // -1: None (one line)
  std::string indent_text;     // used instead of `indent` spaces when not empty
  std::string item_separator;  // default: ", " without indent, "," with
  std::string key_separator = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};
// json.dumps(value, ...). Throws Error for Undefined, a namespace or function.
std::string to_json(const Value& value, const JsonOptions& options);

// Python's repr() of a float ("1.0", "0.1", "1e+16", "nan", "inf").
std::string python_float_repr(double d);

// UTF-8 helpers with Python's code-point view of a str.
// Byte offsets of each code point's start, plus the total size at the end.
std::vector<size_t> utf8_boundaries(std::string_view s);
size_t utf8_length(std::string_view s);
// Python's str.isspace() for one code point.
bool is_python_space(char32_t cp);
bool is_valid_utf8(std::string_view s);
// Decodes the code points of `s` (invalid bytes decode as themselves).
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);

}  // namespace brigade::jinja
