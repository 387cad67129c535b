#pragma once
// A parsed Jinja template and its renderer: the subset of jinja2 that Hugging
// Face chat templates use, rendered with the semantics of transformers'
// environment (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols; default Undefined: printing it gives "", using it in
// arithmetic, attribute access or a call is an error).
//
// Scoping follows jinja2: `set` at the top level or inside `if` sets a
// template variable; inside a `for` body it is local to that iteration
// (hence `namespace()`); a macro body has its own scope.
//
// Every error (parse or render) is an Error whose message starts with
// "chat template line N:" and names the construct.

#include <memory>
#include <string>
#include <string_view>

#include "chat/jinja_parser.h"
#include "chat/jinja_value.h"

namespace brigade::jinja {

class Template {
 public:
  // Parses `source`. Throws Error on a syntax error, an unsupported tag, and
  // a filter or test this interpreter does not implement, as jinja2 does when
  // it compiles a template, except inside an `if` statement or an inline
  // `x if c else y` (outside any loop or macro body within them): there
  // jinja2 and this interpreter fail only when the filter or test is used,
  // so a branch that never runs (e.g. for tools) does not stop a template.
  explicit Template(std::string_view source);

  // Renders with `context` as the template's global variables (jinja2's
  // builtins namespace(), dict(), range() are always available; a context
  // variable of the same name hides them).
  std::string render(const ValueDict& context) const;

 private:
  std::shared_ptr<const StmtList> body_;
};

}  // namespace brigade::jinja
