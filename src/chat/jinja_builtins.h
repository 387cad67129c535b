#pragma once
// What the evaluator does to values: Python's operators, jinja2's attribute
// and item lookup, the filters, tests and global functions, and the methods
// of str and dict that chat templates call. Internal to src/chat; every
// function throws Error with a message (no line: the evaluator adds it) for
// what Python or jinja2 would raise on, and for what this interpreter does
// not implement.

#include <string>
#include <string_view>

#include "chat/jinja_value.h"

namespace brigade::jinja {

// Python binary operators: + - * / // % ** and jinja's ~ (str concat).
Value binary_operator(std::string_view op, const Value& a, const Value& b);
// Unary - and +.
Value unary_operator(std::string_view op, const Value& a);
// Python `item in container` (jinja's Undefined contains nothing).
bool contains(const Value& container, const Value& item);
// A comparison: == != < <= > >= in, not in. Ordering an Undefined throws.
bool compare_operator(std::string_view op, const Value& a, const Value& b);
// Throws the Error of using an Undefined value: what was looked up.
[[noreturn]] void undefined_error(const Value& undefined);

// jinja2's `obj.name`: str/dict methods first, then dict keys or namespace
// attributes; Undefined when absent. Throws when obj is Undefined.
Value get_attr(const Value& obj, const std::string& name);
// jinja2's `obj[key]`: list/str index, dict key, then attribute. Throws when
// obj is Undefined.
Value get_item(const Value& obj, const Value& key);
// Python `obj[start:stop:step]` on a list or str; null bounds are omitted.
Value get_slice(const Value& obj, const Value* start, const Value* stop, const Value* step);

// Elements of a for loop over `v`: a list's items, a dict's keys, a str's
// characters; nothing for Undefined.
ValueList iterate(const Value& v);

bool is_supported_filter(std::string_view name);
bool is_supported_test(std::string_view name);
Value apply_filter(const std::string& name, const Value& input, const CallArgs& args);
bool apply_test(const std::string& name, const Value& input, const CallArgs& args);
// jinja2's global functions: namespace, dict, range (others: Undefined).
Value builtin_global(const std::string& name);

}  // namespace brigade::jinja
