#pragma once
// Parses the tokens of a chat template into a syntax tree, with jinja2's
// grammar and operator precedence (lowest first):
//   x if c else y · or · and · not · comparisons and `in`/`not in` (chained)
//   · + - · ~ · * / // % · ** · unary - + · postfix (.attr, [i], [a:b:c],
//   (call)), then filters `|f(...)` and tests `is [not] t(...)`.
// So `a + b | trim` trims only b, and `messages|length - 1` is
// (messages|length) - 1, as in jinja2.
//
// Statements: if/elif/else, for (tuple targets, `if` filter, else), set
// (name, `ns.attr`, tuple targets, block set), macro, break/continue
// (transformers loads jinja2's loopcontrols), and transformers' `generation`
// block. Any other tag is an Error naming it and its line at parse time.
// (Unknown filters and tests are checked by jinja::Template.)

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace brigade::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    GetAttr,    // children[0].name
    GetItem,    // children[0][children[1]]
    Slice,      // children[0][children[1]:children[2]:children[3]] (null = omitted)
    Call,       // children[0](children[1..], keywords)
    Filter,     // children[0] | name(children[1..], keywords)
    Test,       // children[0] is [not] name(children[1..]); negated
    Unary,      // name ("-", "+", "not") children[0]
    Binary,     // children[0] name children[1]: + - * / // % ** ~ and or
    Compare,    // children[0] ops[0] children[1] ops[1] children[2] ...
    Condition,  // children[1] if children[0] else children[2] (null = undefined)
    List,       // [children...]
    Tuple,      // (children...), a list at run time
    Dict,       // {children[0]: children[1], children[2]: children[3], ...}
  };
  Kind kind;
  int line = 0;
  std::string name;
  Value value;
  bool negated = false;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;   // Compare: "==", "!=", "<", "<=", ">", ">=", "in", "not in"
  std::vector<std::string> keys;  // Call/Filter/Test keyword names, parallel to keywords
  std::vector<ExprPtr> keywords;  // Call/Filter/Test keyword values
};

struct Stmt;
using StmtList = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    Text,      // text
    Output,    // {{ expr }}
    If,        // conditions[i] → bodies[i]; bodies.back() is the else body when
               // bodies.size() > conditions.size()
    For,       // for targets in expr [if filter] body [else else_body]
    Set,       // set targets (or ns.attr: target_object + targets[0]) = expr
    SetBlock,  // set targets[0] %}body{% endset
    Macro,     // macro name(params = defaults) body
    Break,
    Continue,
    Generation,  // transformers' {% generation %}body{% endgeneration %}
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;    // Output, For iterable, Set value
  ExprPtr filter;  // For: `for x in xs if cond`
  std::vector<ExprPtr> conditions;
  std::vector<StmtList> bodies;  // If branches; For/SetBlock/Macro/Generation use bodies[0]
  StmtList else_body;            // For
  std::vector<std::string> targets;
  std::string target_object;      // Set: `ns` in `set ns.attr = ...`
  std::string name;               // Macro
  std::vector<ExprPtr> defaults;  // Macro: parallel to targets (params); null = required
};

// Parses a whole template. Throws Error naming the construct and its line.
StmtList parse_template(std::string_view source);

}  // namespace brigade::jinja
