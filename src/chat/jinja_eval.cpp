#include "chat/jinja_eval.h"

#include "chat/jinja_builtins.h"
#include "util/error.h"

namespace brigade::jinja {
namespace {

// An Error already prefixed with the template line; passes through the
// handlers of enclosing nodes unchanged.
class LocatedError : public Error {
 public:
  using Error::Error;
};

enum class Flow { Normal, Break, Continue };

class Renderer {
 public:
  explicit Renderer(const ValueDict& globals) : globals_(globals) { scopes_.emplace_back(); }

  void run(const StmtList& body, std::string& out) { exec_body(body, out); }

 private:
  // Wraps an Error thrown by the node itself (not by a child, whose error
  // is already located) with the node's line.
  template <typename F>
  auto located(int line, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const LocatedError&) {
      throw;
    } catch (const Error& e) {
      throw LocatedError(fmt::format("chat template line {}: {}", line, e.what()));
    }
  }

  // ---- statements ---------------------------------------------------------

  Flow exec_body(const StmtList& body, std::string& out) {
    for (const auto& stmt : body) {
      const Flow flow = located(stmt->line, [&] { return exec(*stmt, out); });
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& s, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text:
        out += s.text;
        return Flow::Normal;
      case Stmt::Kind::Output:
        out += eval(*s.expr).str();
        return Flow::Normal;
      case Stmt::Kind::If:
        for (size_t i = 0; i < s.conditions.size(); ++i)
          if (eval(*s.conditions[i]).truthy()) return exec_body(s.bodies[i], out);
        if (s.bodies.size() > s.conditions.size()) return exec_body(s.bodies.back(), out);
        return Flow::Normal;
      case Stmt::Kind::For:
        exec_for(s, out);
        return Flow::Normal;
      case Stmt::Kind::Set:
        exec_set(s, eval(*s.expr));
        return Flow::Normal;
      case Stmt::Kind::SetBlock: {
        std::string captured;
        exec_body(s.bodies[0], captured);
        exec_set(s, Value::string(std::move(captured)));
        return Flow::Normal;
      }
      case Stmt::Kind::Macro:
        scopes_.back().set(s.name, make_macro(s));
        return Flow::Normal;
      case Stmt::Kind::Break:
        return Flow::Break;
      case Stmt::Kind::Continue:
        return Flow::Continue;
      case Stmt::Kind::Generation:
        return exec_body(s.bodies[0], out);
    }
    return Flow::Normal;
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
      scopes_.back().set(targets[0], value);
      return;
    }
    const ValueList items = iterate(value);
    if (items.size() != targets.size())
      fail("cannot unpack {} value(s) into {} variables", items.size(), targets.size());
    for (size_t i = 0; i < targets.size(); ++i) scopes_.back().set(targets[i], items[i]);
  }

  void exec_set(const Stmt& s, const Value& value) {
    if (s.target_object.empty()) {
      bind_targets(s.targets, value);
      return;
    }
    const Value object = lookup(s.target_object);
    if (object.kind() != Value::Kind::Namespace)
      fail("cannot assign attribute '{}' on '{}', which is not a namespace", s.targets[0],
           s.target_object);
    object.namespace_attributes().set(s.targets[0], value);
  }

  void exec_for(const Stmt& s, std::string& out) {
    ValueList items = iterate(eval(*s.expr));
    if (s.filter) {
      ValueList kept;
      for (const Value& item : items) {
        scopes_.emplace_back();
        bind_targets(s.targets, item);
        const bool keep = eval(*s.filter).truthy();
        scopes_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      scopes_.emplace_back();
      exec_body(s.else_body, out);
      scopes_.pop_back();
      return;
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      scopes_.emplace_back();
      bind_targets(s.targets, items[i]);
      scopes_.back().set("loop", loop_object(items, i));
      const Flow flow = exec_body(s.bodies[0], out);
      scopes_.pop_back();
      if (flow == Flow::Break) break;
    }
  }

  static Value loop_object(const ValueList& items, int64_t i) {
    const int64_t n = static_cast<int64_t>(items.size());
    ValueDict loop;
    loop.set("index", Value::integer(i + 1));
    loop.set("index0", Value::integer(i));
    loop.set("revindex", Value::integer(n - i));
    loop.set("revindex0", Value::integer(n - i - 1));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("depth", Value::integer(1));
    loop.set("depth0", Value::integer(0));
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop.set("cycle", Value::function("loop.cycle", [i](const CallArgs& call) {
               if (call.positional.empty() || !call.keyword.empty())
                 fail("loop.cycle() needs at least one positional argument");
               return call.positional[i % call.positional.size()];
             }));
    return Value::dict(std::move(loop));
  }

  // A macro runs with the scopes that enclosed its definition (as they are at
  // the call) plus one scope for its parameters; it returns what it printed.
  Value make_macro(const Stmt& s) {
    const size_t depth = scopes_.size();
    return Value::function(s.name, [this, &s, depth](const CallArgs& call) {
      if (call.positional.size() > s.targets.size())
        fail("macro '{}' takes at most {} argument(s), got {}", s.name, s.targets.size(),
             call.positional.size());
      std::vector<ValueDict> saved = std::move(scopes_);
      scopes_.assign(saved.begin(), saved.begin() + std::min(depth, saved.size()));
      ValueDict params;
      for (size_t i = 0; i < s.targets.size(); ++i) {
        if (i < call.positional.size())
          params.set(s.targets[i], call.positional[i]);
        else if (s.defaults[i])
          params.set(s.targets[i], eval(*s.defaults[i]));
        else
          params.set(s.targets[i],
                     Value::undefined(fmt::format("macro '{}' parameter '{}' was not given", s.name,
                                                  s.targets[i])));
      }
      for (const auto& [key, value] : call.keyword) {
        if (std::find(s.targets.begin(), s.targets.end(), key) == s.targets.end())
          fail("macro '{}' has no parameter '{}'", s.name, key);
        params.set(key, value);
      }
      scopes_.push_back(std::move(params));
      std::string out;
      try {
        exec_body(s.bodies[0], out);
      } catch (...) {
        scopes_ = std::move(saved);
        throw;
      }
      scopes_ = std::move(saved);
      return Value::string(std::move(out));
    });
  }

  // ---- expressions --------------------------------------------------------

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (const Value* v = it->find(name)) return *v;
    if (const Value* v = globals_.find(name)) return *v;
    return builtin_global(name);
  }

  CallArgs eval_args(const Expr& e, size_t first) {
    CallArgs args;
    for (size_t i = first; i < e.children.size(); ++i)
      args.positional.push_back(eval(*e.children[i]));
    for (size_t i = 0; i < e.keys.size(); ++i)
      args.keyword.emplace_back(e.keys[i], eval(*e.keywords[i]));
    return args;
  }

  Value eval(const Expr& e) {
    return located(e.line, [&] { return eval_node(e); });
  }

  Value eval_node(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Literal:
        return e.value;
      case Expr::Kind::Name:
        return lookup(e.name);
      case Expr::Kind::GetAttr:
        return get_attr(eval(*e.children[0]), e.name);
      case Expr::Kind::GetItem: {
        const Value object = eval(*e.children[0]);
        return get_item(object, eval(*e.children[1]));
      }
      case Expr::Kind::Slice: {
        const Value object = eval(*e.children[0]);
        Value bounds[3];
        for (int i = 0; i < 3; ++i)
          bounds[i] = e.children[i + 1] ? eval(*e.children[i + 1]) : Value::none();
        return get_slice(object, &bounds[0], &bounds[1], &bounds[2]);
      }
      case Expr::Kind::Call: {
        const Value callee = eval(*e.children[0]);
        const CallArgs args = eval_args(e, 1);
        if (callee.is_undefined()) undefined_error(callee);
        if (callee.kind() != Value::Kind::Function)
          fail("'{}' object is not callable", callee.type_name());
        return callee.as_function().call(args);
      }
      case Expr::Kind::Filter: {
        const Value input = eval(*e.children[0]);
        return apply_filter(e.name, input, eval_args(e, 1));
      }
      case Expr::Kind::Test: {
        const Value input = eval(*e.children[0]);
        return Value::boolean(apply_test(e.name, input, eval_args(e, 1)) != e.negated);
      }
      case Expr::Kind::Unary:
        if (e.name == "not") return Value::boolean(!eval(*e.children[0]).truthy());
        return unary_operator(e.name, eval(*e.children[0]));
      case Expr::Kind::Binary: {
        Value left = eval(*e.children[0]);
        if (e.name == "and") return left.truthy() ? eval(*e.children[1]) : left;
        if (e.name == "or") return left.truthy() ? left : eval(*e.children[1]);
        const Value right = eval(*e.children[1]);
        return binary_operator(e.name, left, right);
      }
      case Expr::Kind::Compare: {
        Value left = eval(*e.children[0]);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.children[i + 1]);
          if (!compare_operator(e.ops[i], left, right)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Expr::Kind::Condition:
        if (eval(*e.children[0]).truthy()) return eval(*e.children[1]);
        if (e.children[2]) return eval(*e.children[2]);
        return Value::undefined("the inline if-expression evaluated to false and has no else");
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        ValueList items;
        for (const auto& child : e.children) items.push_back(eval(*child));
        if (e.kind == Expr::Kind::Tuple) return Value::tuple(std::move(items));
        return Value::list(std::move(items));
      }
      case Expr::Kind::Dict: {
        ValueDict dict;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          const Value key = eval(*e.children[i]);
          if (!key.is_string()) fail("unsupported dict key of type {}", key.type_name());
          dict.set(key.as_string(), eval(*e.children[i + 1]));
        }
        return Value::dict(std::move(dict));
      }
    }
    return Value();
  }

  const ValueDict& globals_;
  std::vector<ValueDict> scopes_;
};

// jinja2's compile-time check of filter and test names, with its "soft"
// frames: inside an if statement or inline if, unknown names fail at run
// time only; a loop or macro body inside them is checked again.
void check_names(const Expr* e, bool soft) {
  if (!e) return;
  if (e->kind == Expr::Kind::Condition) soft = true;
  if (!soft && e->kind == Expr::Kind::Filter && !is_supported_filter(e->name))
    fail("chat template line {}: unsupported filter '{}'", e->line, e->name);
  if (!soft && e->kind == Expr::Kind::Test && !is_supported_test(e->name))
    fail("chat template line {}: unsupported test '{}'", e->line, e->name);
  for (const auto& child : e->children) check_names(child.get(), soft);
  for (const auto& child : e->keywords) check_names(child.get(), soft);
}

void check_names(const StmtList& body, bool soft) {
  for (const auto& s : body) {
    const bool inner = s->kind == Stmt::Kind::If ? true : soft;
    check_names(s->expr.get(), soft);
    for (const auto& c : s->conditions) check_names(c.get(), inner);
    if (s->kind == Stmt::Kind::For || s->kind == Stmt::Kind::Macro) {
      check_names(s->filter.get(), false);
      for (const auto& d : s->defaults) check_names(d.get(), false);
      for (const auto& b : s->bodies) check_names(b, false);
      check_names(s->else_body, false);
    } else {
      for (const auto& b : s->bodies) check_names(b, inner);
    }
  }
}

}  // namespace

Template::Template(std::string_view source)
    : body_(std::make_shared<const StmtList>(parse_template(source))) {
  check_names(*body_, false);
}

std::string Template::render(const ValueDict& context) const {
  std::string out;
  Renderer(context).run(*body_, out);
  return out;
}

}  // namespace brigade::jinja
