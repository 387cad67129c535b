#include "chat/jinja_parser.h"

#include <algorithm>

#include "chat/jinja_lexer.h"
#include "util/error.h"

namespace brigade::jinja {
namespace {

using T = Token::Type;

ExprPtr make_expr(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  StmtList parse() {
    std::string end;
    StmtList body = parse_body({}, end, 0);
    return body;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool at_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).type == T::Op && peek(ahead).text == op;
  }
  bool at_name(std::string_view name, size_t ahead = 0) const {
    return peek(ahead).type == T::Name && peek(ahead).text == name;
  }
  bool skip_op(std::string_view op) {
    if (!at_op(op)) return false;
    ++pos_;
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!at_name(name)) return false;
    ++pos_;
    return true;
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case T::Data:
        return "template text";
      case T::VarBegin:
        return "'{{'";
      case T::VarEnd:
        return "'}}'";
      case T::BlockBegin:
        return "'{%'";
      case T::BlockEnd:
        return "'%}'";
      case T::End:
        return "end of template";
      case T::String:
        return "string literal";
      default:
        return "'" + t.text + "'";
    }
  }

  [[noreturn]] void unexpected(std::string_view expected) const {
    fail("chat template line {}: expected {}, got {}", peek().line, expected, describe(peek()));
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) unexpected(fmt::format("'{}'", op));
  }
  void expect(T type, std::string_view what) {
    if (peek().type != type) unexpected(what);
    ++pos_;
  }
  // The end of a tag that opens a body; jinja2 allows a Python-style colon.
  void expect_body_start() {
    skip_op(":");
    expect(T::BlockEnd, "'%}'");
  }
  std::string expect_name(std::string_view what) {
    if (peek().type != T::Name) unexpected(what);
    return next().text;
  }
  // A name with optional dotted parts (`a.b`), as filter and test names may be.
  std::string expect_dotted_name(std::string_view what) {
    std::string name = expect_name(what);
    while (skip_op(".")) {
      name += '.';
      name += expect_name(what);
    }
    return name;
  }

  // ---- statements ---------------------------------------------------------

  // Parses until a `{% <end> %}` tag whose name is one of `ends` (consuming
  // `{%` and the name, storing it in `end`) or, for the top level (no ends),
  // the end of the template.
  StmtList parse_body(std::initializer_list<std::string_view> ends, std::string& end,
                      int open_line) {
    StmtList body;
    while (true) {
      const Token& t = peek();
      if (t.type == T::End) {
        if (ends.size() == 0) return body;
        fail("chat template line {}: missing '{{% {} %}}' for the tag at line {}", t.line,
             *std::prev(ends.end()), open_line);
      }
      if (t.type == T::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        ++pos_;
      } else if (t.type == T::VarBegin) {
        ++pos_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Output;
        s->line = t.line;
        s->expr = parse_tuple(true);
        expect(T::VarEnd, "'}}'");
        body.push_back(std::move(s));
      } else if (t.type == T::BlockBegin) {
        if (peek(1).type == T::Name &&
            std::find(ends.begin(), ends.end(), peek(1).text) != ends.end()) {
          pos_ += 2;
          end = tokens_[pos_ - 1].text;
          return body;
        }
        ++pos_;
        body.push_back(parse_statement());
      } else {
        unexpected("template text or a tag");
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& t = peek();
    if (t.type != T::Name) unexpected("a tag name");
    const std::string tag = next().text;
    auto s = std::make_unique<Stmt>();
    s->line = t.line;
    if (tag == "if") {
      parse_if(*s);
    } else if (tag == "for") {
      parse_for(*s);
    } else if (tag == "set") {
      parse_set(*s);
    } else if (tag == "macro") {
      parse_macro(*s);
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("chat template line {}: '{}' outside a for loop", s->line, tag);
      s->kind = tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect(T::BlockEnd, "'%}'");
    } else if (tag == "generation") {
      s->kind = Stmt::Kind::Generation;
      expect_body_start();
      std::string end;
      s->bodies.push_back(parse_body({"endgeneration"}, end, s->line));
      expect(T::BlockEnd, "'%}'");
    } else {
      fail("chat template line {}: unsupported tag '{}'", s->line, tag);
    }
    return s;
  }

  void parse_if(Stmt& s) {
    s.kind = Stmt::Kind::If;
    std::string end = "elif";
    while (end == "elif") {
      s.conditions.push_back(parse_tuple(false));
      expect_body_start();
      s.bodies.push_back(parse_body({"elif", "else", "endif"}, end, s.line));
    }
    if (end == "else") {
      expect_body_start();
      s.bodies.push_back(parse_body({"endif"}, end, s.line));
    }
    expect(T::BlockEnd, "'%}'");
  }

  void parse_for(Stmt& s) {
    s.kind = Stmt::Kind::For;
    const bool parenthesized = skip_op("(");
    do {
      s.targets.push_back(expect_name("a loop variable name"));
    } while (skip_op(","));
    if (parenthesized) expect_op(")");
    if (!skip_name("in")) unexpected("'in'");
    s.expr = parse_tuple(false);
    if (skip_name("if")) s.filter = parse_expression();
    if (at_name("recursive")) fail("chat template line {}: unsupported recursive for loop", s.line);
    expect_body_start();
    std::string end;
    ++loop_depth_;
    s.bodies.push_back(parse_body({"else", "endfor"}, end, s.line));
    --loop_depth_;
    if (end == "else") {
      expect_body_start();
      s.else_body = parse_body({"endfor"}, end, s.line);
    }
    expect(T::BlockEnd, "'%}'");
  }

  void parse_set(Stmt& s) {
    s.kind = Stmt::Kind::Set;
    const std::string first = expect_name("a variable name");
    if (skip_op(".")) {
      s.target_object = first;
      s.targets.push_back(expect_name("an attribute name"));
    } else {
      s.targets.push_back(first);
      while (skip_op(",")) s.targets.push_back(expect_name("a variable name"));
    }
    if (skip_op("=")) {
      s.expr = parse_tuple(true);
      expect(T::BlockEnd, "'%}'");
      return;
    }
    if (at_op("|")) fail("chat template line {}: unsupported filtered block set", s.line);
    if (s.targets.size() != 1 || !s.target_object.empty())
      fail("chat template line {}: a block set assigns one plain variable", s.line);
    s.kind = Stmt::Kind::SetBlock;
    expect_body_start();
    std::string end;
    s.bodies.push_back(parse_body({"endset"}, end, s.line));
    expect(T::BlockEnd, "'%}'");
  }

  void parse_macro(Stmt& s) {
    s.kind = Stmt::Kind::Macro;
    s.name = expect_name("a macro name");
    expect_op("(");
    while (!skip_op(")")) {
      if (!s.targets.empty()) expect_op(",");
      if (at_op(")")) continue;
      s.targets.push_back(expect_name("a macro parameter name"));
      s.defaults.push_back(skip_op("=") ? parse_expression() : nullptr);
    }
    expect_body_start();
    std::string end;
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;
    s.bodies.push_back(parse_body({"endmacro"}, end, s.line));
    loop_depth_ = saved_depth;
    expect(T::BlockEnd, "'%}'");
  }

  // ---- expressions --------------------------------------------------------

  bool at_tuple_end() const {
    const Token& t = peek();
    return t.type == T::VarEnd || t.type == T::BlockEnd || at_op(")") ||
           (t.type == T::Name && (t.text == "if" || t.text == "recursive"));
  }

  // Comma-separated expressions; a tuple if there is a comma.
  ExprPtr parse_tuple(bool with_condition) {
    const int line = peek().line;
    std::vector<ExprPtr> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        comma = true;
        if (at_tuple_end()) break;
      }
      items.push_back(with_condition ? parse_expression() : parse_or());
    }
    if (!comma) return std::move(items[0]);
    auto e = make_expr(Expr::Kind::Tuple, line);
    e->children = std::move(items);
    return e;
  }

  ExprPtr parse_expression() {
    ExprPtr expr = parse_or();
    while (at_name("if")) {
      const int line = next().line;
      auto e = make_expr(Expr::Kind::Condition, line);
      e->children.push_back(parse_or());
      e->children.push_back(std::move(expr));
      e->children.push_back(skip_name("else") ? parse_expression() : nullptr);
      expr = std::move(e);
    }
    return expr;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, int line) {
    auto e = make_expr(Expr::Kind::Binary, line);
    e->name = std::move(op);
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return e;
  }

  // One level of left-associative binary operators: operand (op operand)*.
  ExprPtr parse_binary_level(std::initializer_list<std::string_view> ops,
                             ExprPtr (Parser::*operand)()) {
    ExprPtr left = (this->*operand)();
    while ((peek().type == T::Op || peek().type == T::Name) &&
           std::find(ops.begin(), ops.end(), peek().text) != ops.end()) {
      const Token& op = next();
      left = binary(op.text, std::move(left), (this->*operand)(), op.line);
    }
    return left;
  }

  ExprPtr parse_or() { return parse_binary_level({"or"}, &Parser::parse_and); }
  ExprPtr parse_and() { return parse_binary_level({"and"}, &Parser::parse_not); }

  ExprPtr parse_not() {
    if (at_name("not")) {
      auto e = make_expr(Expr::Kind::Unary, next().line);
      e->name = "not";
      e->children.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = peek().line;
    ExprPtr first = parse_math1();
    auto e = make_expr(Expr::Kind::Compare, line);
    e->children.push_back(std::move(first));
    while (true) {
      static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
      std::string op;
      for (const char* candidate : kOps)
        if (at_op(candidate)) op = candidate;
      if (!op.empty()) {
        ++pos_;
      } else if (at_name("in")) {
        ++pos_;
        op = "in";
      } else if (at_name("not") && at_name("in", 1)) {
        pos_ += 2;
        op = "not in";
      } else {
        break;
      }
      e->ops.push_back(op);
      e->children.push_back(parse_math1());
    }
    if (e->ops.empty()) return std::move(e->children[0]);
    return e;
  }

  ExprPtr parse_math1() { return parse_binary_level({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return parse_binary_level({"~"}, &Parser::parse_math2); }
  ExprPtr parse_math2() { return parse_binary_level({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return parse_binary_level({"**"}, &Parser::parse_filtered_unary); }
  ExprPtr parse_filtered_unary() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      const Token& op = next();
      node = make_expr(Expr::Kind::Unary, op.line);
      node->name = op.text;
      node->children.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filters_and_tests(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    if (t.type == T::Name) {
      ++pos_;
      auto e = make_expr(Expr::Kind::Literal, t.line);
      if (t.text == "true" || t.text == "True")
        e->value = Value::boolean(true);
      else if (t.text == "false" || t.text == "False")
        e->value = Value::boolean(false);
      else if (t.text == "none" || t.text == "None")
        e->value = Value::none();
      else {
        e->kind = Expr::Kind::Name;
        e->name = t.text;
      }
      return e;
    }
    if (t.type == T::String) {
      auto e = make_expr(Expr::Kind::Literal, t.line);
      std::string text;
      while (peek().type == T::String) text += next().text;  // "a" "b" == "ab"
      e->value = Value::string(std::move(text));
      return e;
    }
    if (t.type == T::Int || t.type == T::Float) {
      ++pos_;
      auto e = make_expr(Expr::Kind::Literal, t.line);
      e->value = t.type == T::Int ? Value::integer(t.int_value) : Value::number(t.float_value);
      return e;
    }
    if (skip_op("(")) {
      if (skip_op(")")) return make_expr(Expr::Kind::Tuple, t.line);
      ExprPtr inner = parse_tuple(true);
      expect_op(")");
      return inner;
    }
    if (skip_op("[")) {
      auto e = make_expr(Expr::Kind::List, t.line);
      parse_items("]", [&] { e->children.push_back(parse_expression()); });
      return e;
    }
    if (skip_op("{")) {
      auto e = make_expr(Expr::Kind::Dict, t.line);
      parse_items("}", [&] {
        e->children.push_back(parse_expression());
        expect_op(":");
        e->children.push_back(parse_expression());
      });
      return e;
    }
    unexpected("an expression");
  }

  // Comma-separated items up to the closing `close` (a trailing comma is
  // allowed); the opening bracket is already consumed.
  template <typename F>
  void parse_items(std::string_view close, F&& parse_item) {
    bool first = true;
    while (!skip_op(close)) {
      if (!first) expect_op(",");
      first = false;
      if (skip_op(close)) break;
      parse_item();
    }
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      const int line = peek().line;
      if (skip_op(".")) {
        if (peek().type == T::Int) {
          auto e = make_expr(Expr::Kind::GetItem, line);
          auto index = make_expr(Expr::Kind::Literal, line);
          index->value = Value::integer(next().int_value);
          e->children.push_back(std::move(node));
          e->children.push_back(std::move(index));
          node = std::move(e);
          continue;
        }
        auto e = make_expr(Expr::Kind::GetAttr, line);
        e->name = expect_name("an attribute name");
        e->children.push_back(std::move(node));
        node = std::move(e);
      } else if (skip_op("[")) {
        node = parse_subscript(std::move(node), line);
      } else if (at_op("(")) {
        node = parse_call(std::move(node), line);
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, int line) {
    std::vector<ExprPtr> parts(3);
    int part = 0;
    bool is_slice = false;
    while (!skip_op("]")) {
      if (skip_op(":")) {
        if (++part > 2) unexpected("']'");
        is_slice = true;
        continue;
      }
      if (parts[part]) unexpected("':' or ']'");
      parts[part] = parse_expression();
      if (at_op(",")) fail("chat template line {}: unsupported tuple subscript", line);
    }
    auto e = make_expr(is_slice ? Expr::Kind::Slice : Expr::Kind::GetItem, line);
    e->children.push_back(std::move(object));
    if (!is_slice) {
      if (!parts[0]) unexpected("a subscript");
      e->children.push_back(std::move(parts[0]));
    } else {
      for (auto& p : parts) e->children.push_back(std::move(p));
    }
    return e;
  }

  // `(a, b, key=c)` into e.children (after those already there) and
  // e.keys/e.keywords.
  void parse_call_args(Expr& e) {
    expect_op("(");
    parse_items(")", [&] {
      if (at_op("*") || at_op("**"))
        fail("chat template line {}: unsupported *args/**kwargs in a call", peek().line);
      if (peek().type == T::Name && at_op("=", 1)) {
        e.keys.push_back(next().text);
        ++pos_;
        e.keywords.push_back(parse_expression());
      } else {
        if (!e.keys.empty())
          fail("chat template line {}: positional argument after keyword argument", peek().line);
        e.children.push_back(parse_expression());
      }
    });
  }

  ExprPtr parse_call(ExprPtr callee, int line) {
    auto e = make_expr(Expr::Kind::Call, line);
    e->children.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filters_and_tests(ExprPtr node) {
    while (true) {
      const int line = peek().line;
      if (skip_op("|")) {
        auto e = make_expr(Expr::Kind::Filter, line);
        e->name = expect_dotted_name("a filter name");
        e->children.push_back(std::move(node));
        if (at_op("(")) parse_call_args(*e);
        node = std::move(e);
      } else if (at_name("is")) {
        ++pos_;
        auto e = make_expr(Expr::Kind::Test, line);
        e->negated = skip_name("not");
        e->name = expect_dotted_name("a test name");
        e->children.push_back(std::move(node));
        if (at_op("(")) {
          parse_call_args(*e);
        } else if (starts_test_argument()) {
          e->children.push_back(parse_primary());
          e->children.back() = parse_postfix(std::move(e->children.back()));
        }
        node = std::move(e);
      } else if (at_op("(")) {
        node = parse_call(std::move(node), line);
      } else {
        return node;
      }
    }
  }

  // jinja2 lets a test take one argument without parentheses
  // (`x is divisibleby 3`, `x is sameas none`).
  bool starts_test_argument() const {
    const Token& t = peek();
    if (t.type == T::Name) return t.text != "else" && t.text != "or" && t.text != "and";
    return t.type == T::String || t.type == T::Int || t.type == T::Float || at_op("[") ||
           at_op("{");
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

StmtList parse_template(std::string_view source) { return Parser(tokenize(source)).parse(); }

}  // namespace brigade::jinja
