#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "chat/jinja_eval.h"
#include "common/expect_error.h"

namespace brigade::test {
namespace {

using jinja::Template;
using jinja::Value;
using jinja::ValueDict;

std::string render(const std::string& source, const std::string& context_json = "{}") {
  const auto json = nlohmann::ordered_json::parse(context_json);
  ValueDict context;
  for (const auto& [k, v] : json.items()) context.set(k, Value::from_json(v));
  return Template(source).render(context);
}

struct RenderCase {
  const char* name;
  const char* source;
  const char* context;  // JSON object of template variables
  const char* expected;
};

// One case per construct of the supported subset. The expected strings were
// produced by jinja2 3.1.6 with transformers' settings:
//   jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True,
//       lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
//   env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None,
//       separators=None, sort_keys=False: json.dumps(x, ...)
//   env.from_string(source).render(**context)
// and pasted here verbatim (Python is not needed to run the tests).
const RenderCase kCases[] = {
    {"ws_trim_blocks", "{% if true %}\nA\n{% endif %}\nB", R"json({})json", "A\nB"},
    {"ws_lstrip_blocks", "  {% if true %}\n  X\n  {% endif %}\nY", R"json({})json", "  X\nY"},
    {"ws_minus", "a  \n {%- if true -%}  \n b \n {%- endif -%} \n c", R"json({})json", "abc"},
    {"ws_var_minus", "x \n {{- 'v' -}} \n y", R"json({})json", "xvy"},
    {"ws_var_no_lstrip", "  {{ 'v' }}\n  z", R"json({})json", "  v\n  z"},
    {"ws_plus", "  {%+ if true +%}\nq{% endif %}", R"json({})json", "  \nq"},
    {"ws_comment", "a\n  {# note #}\nb {#- x -#}  c", R"json({})json", "a\nbc"},
    {"ws_trailing_newline", "line\n", R"json({})json", "line"},
    {"ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}", R"json({})json", "a\nb\n"},
    {"ws_line_after_var", "{{ 'a' }}  {% if true %}b{% endif %}", R"json({})json", "a  b"},
    {"lit_numbers",
     "{{ 1 }} {{ 1.5 }} {{ 2.0 }} {{ 1e3 }} {{ 1_000 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 7 "
     "/ 2 }} {{ 4 / 2 }} {{ 10 // 3 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
     R"json({})json",
     "1 1.5 2.0 1000.0 1000 0.30000000000000004 1e+20 1e-05 3.5 2.0 3 -4 2 1024 0.5"},
    {"lit_strings",
     "{{ 'a\\'b' }}|{{ \"q\\\"t\" }}|{{ 'x\\ny' }}|{{ '\\u00e9\\x41' }}|{{ 'ab' 'cd' }}|{{ '\\d' "
     "}}",
     R"json({})json", "a'b|q\"t|x\ny|éA|abcd|\\d"},
    {"lit_consts", "{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}", R"json({})json",
     "True False None True None"},
    {"lit_list_dict",
     "{{ [1, 'a', none, true, 1.5] }} {{ {'a': 1, 'b': [2]} }} {{ (1, 2) }} {{ [] }} {{ {} }}",
     R"json({})json", "[1, 'a', None, True, 1.5] {'a': 1, 'b': [2]} (1, 2) [] {}"},
    {"repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t'] }}", R"json({})json",
     "[\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t']"},
    {"undefined_prints_empty", "[{{ nothing }}][{{ d.missing }}]", R"json({"d": {"a": 1}})json",
     "[][]"},
    {"none_attr_undefined", "[{{ n.foo }}]", R"json({"n": null})json", "[]"},
    {"ops_concat",
     "{{ 'a' + 'b' }} {{ 'a' ~ 1 ~ none ~ true }} {{ [1] + [2, 3] }} {{ 'ab' * 3 }} {{ [0] * 2 }}",
     R"json({})json", "ab a1NoneTrue [1, 2, 3] ababab [0, 0]"},
    {"ops_compare",
     "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'a' }} {{ "
     "1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ [1,2] < [1,3] }}",
     R"json({})json", "True False True True True False True False True"},
    {"ops_in",
     "{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 3 not in [1] }}",
     R"json({"d": {"k": 1}})json", "True True True True True"},
    {"ops_logic",
     "{{ 1 and 'x' }} {{ 0 or 'y' }} {{ not 0 }} {{ not [] and 'e' }} {{ none or [] }} {{ '' and 1 "
     "}}",
     R"json({})json", "x y True e [] "},
    {"ops_precedence",
     "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 'x' + 3 ~ 4 }} {{ not 1 == 2 }} {{ 10 - 2 "
     "- 3 }}",
     R"json({})json", "7 9 4 x34 True 5"},
    {"ops_filter_binds_tight", "{{ '  a ' + '  b  ' | trim + '|' }} {{ xs|length - 1 }}",
     R"json({"xs": [1, 2, 3]})json", "  a b| 2"},
    {"ops_cond",
     "{{ 'y' if true else 'n' }} {{ 'y' if false else 'n' }} [{{ 'y' if false }}] {{ 1 if 0 else 2 "
     "if 1 else 3 }}",
     R"json({})json", "y n [] 2"},
    {"ops_unary", "{{ -(3) }} {{ +4 }} {{ -1.5 }} {{ - - 2 }}", R"json({})json", "-3 4 -1.5 2"},
    {"access",
     "{{ d.a }} {{ d['b'] }} {{ l[0] }} {{ l[-1] }} {{ l.1 }} [{{ l[9] }}] {{ s[0] }} {{ s[-1] }} "
     "{{ d.c.e }} {{ d['c']['e'] }}",
     R"json({"d": {"a": 1, "b": "x", "c": {"e": "deep"}}, "l": [10, 20, 30], "s": "héllo"})json",
     "1 x 10 30 20 [] h o deep deep"},
    {"slices",
     "{{ l[::-1] }} {{ l[1:] }} {{ l[:2] }} {{ l[-2:] }} {{ l[::2] }} {{ l[5:] }} {{ s[1:3] }} {{ "
     "s[::-1] }} {{ l[3:0:-1] }} {{ l[-100:100] }}",
     R"json({"l": [1, 2, 3, 4, 5], "s": "héllo"})json",
     "[5, 4, 3, 2, 1] [2, 3, 4, 5] [1, 2] [4, 5] [1, 3, 5] [] él olléh [4, 3, 2] [1, 2, 3, 4, 5]"},
    {"dict_method_precedence",
     "{{ d.items() | list }} {{ d['items'] }} {{ d.keys() | list }} {{ d.values() | list }} {{ "
     "d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }}",
     R"json({"d": {"a": 1, "items": "key"}})json",
     "[('a', 1), ('items', 'key')] key ['a', 'items'] [1, 'key'] 1 dflt None"},
    {"for_loop_vars",
     "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ "
     "loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}",
     R"json({"xs": ["a", "b", "c"]})json", "10TrueFalse332|21FalseFalse321|32FalseTrue310|"},
    {"for_prev_next",
     "{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}",
     R"json({"xs": [1, 2, 3]})json", "[<1>2][1<2>3][2<3>]"},
    {"for_else",
     "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in [1] %}{{ x }}{% else %}no{% endfor "
     "%}",
     R"json({})json", "empty|1"},
    {"for_filter",
     "{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{{ loop.length }},{% endfor %}",
     R"json({"xs": [1, 2, 3, 4]})json", "213,323,433,"},
    {"for_unpack",
     "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ "
     "a + b }}{% endfor %}",
     R"json({"d": {"x": 1, "y": [2]}})json", "x=1;y=[2];37"},
    {"for_dict_string",
     "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'hé' %}[{{ c }}]{% endfor %}",
     R"json({"d": {"p": 1, "q": 2}})json", "pq|[h][é]"},
    {"for_break_continue",
     "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% "
     "endif %}{{ x }}{% endfor %}",
     R"json({})json", "0134"},
    {"for_nested_loop",
     "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ "
     "loop.last }};{% endfor %}",
     R"json({})json", "1x11y2False;2x12y2True;"},
    {"for_undefined_iter", "[{% for x in nothing %}{{ x }}{% endfor %}]", R"json({})json", "[]"},
    {"for_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", R"json({})json",
     "ababa"},
    {"range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}",
     R"json({})json", "[0, 1, 2] [1, 3, 5] [5, 3, 1]"},
    {"set_scope",
     "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}|{% if "
     "true %}{% set x = 9 %}{% endif %}{{ x }}",
     R"json({})json", "23|1|9"},
    {"set_per_iteration",
     "{% for i in [1, 2] %}{% if loop.first %}{% set y = 'set' %}{% endif %}[{{ y }}]{% endfor %}",
     R"json({})json", "[set][]"},
    {"set_namespace",
     "{% set ns = namespace(count=0, found=false) %}{% for i in [1, 2, 3] %}{% set ns.count = "
     "ns.count + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} "
     "{{ ns.found }} [{{ ns.missing }}]",
     R"json({})json", "6 True []"},
    {"set_tuple", "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}", R"json({})json",
     "12(1, 2)"},
    {"set_block", "{% set block %}  inner {{ 1 + 1 }}\n{% endset %}[{{ block }}]", R"json({})json",
     "[  inner 2\n]"},
    {"if_elif_else",
     "{% for v in [1, 2, 3] %}{% if v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %},{% "
     "endfor %}",
     R"json({})json", "one,two,many,"},
    {"macro",
     "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} "
     "{{ greet('Bob', '?') }} {{ greet(punct='.', name='Cy') }}",
     R"json({})json", "Hi Ann! Hi Bob? Hi Cy."},
    {"generation_free", "{% set x = 'v' %}{{ x }}", R"json({})json", "v"},
    {"tests",
     "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ s is string }} "
     "{{ 1 is number }} {{ 1.5 is number }} {{ 1 is integer }} {{ 1.5 is float }} {{ true is "
     "boolean }} {{ true is true }} {{ 0 is false }} {{ d is mapping }} {{ l is iterable }} {{ 3 "
     "is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ s is not "
     "none }} {{ 2 is in [1, 2] }} {{ 'a' is eq 'a' }} {{ 1 is lt 2 }} {{ n is sameas none }} {{ "
     "'ab' is lower }} {{ 'AB' is upper }} {{ x is not string }}",
     R"json({"x": 1, "n": null, "s": "s", "d": {}, "l": []})json",
     "True False True True True True True True True True True False True True True True True False "
     "True True True True True True True True"},
    {"f_trim",
     "[{{ '  a b \\n' | trim }}][{{ 'xxaxx' | trim('x') }}][{{ none | trim }}][{{ nothing | trim "
     "}}]",
     R"json({})json", "[a b][a][None][]"},
    {"f_length",
     "{{ 'héllo' | length }} {{ [1, 2] | length }} {{ {'a': 1} | length }} {{ nothing | length }} "
     "{{ [1] | count }}",
     R"json({})json", "5 2 1 0 1"},
    {"f_tojson",
     "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\\n\\u0001' | tojson }}|{{ [] | tojson "
     "}}|{{ {} | tojson(indent=2) }}|{{ d | tojson(separators=(',', ':')) }}|{{ d | "
     "tojson(sort_keys=true) }}|{{ 'é😀' | tojson(ensure_ascii=true) }}|{{ none | tojson }}|{{ "
     "[1.0, 2.5, 1e100, -0.0] | tojson }}",
     R"json({"d": {"z": 1, "a": [true, null, 1.5, "s"], "n": {"k": {}}}})json",
     "{\"z\": 1, \"a\": [true, null, 1.5, \"s\"], \"n\": {\"k\": {}}}|{\n  \"z\": 1,\n  \"a\": [\n "
     "   true,\n    null,\n    1.5,\n    \"s\"\n  ],\n  \"n\": {\n    \"k\": {}\n  "
     "}\n}|\"é\\\"\\n\\u0001\"|[]|{}|{\"z\":1,\"a\":[true,null,1.5,\"s\"],\"n\":{\"k\":{}}}|{\"a\":"
     " [true, null, 1.5, \"s\"], \"n\": {\"k\": {}}, \"z\": "
     "1}|\"\\u00e9\\ud83d\\ude00\"|null|[1.0, 2.5, 1e+100, -0.0]"},
    {"f_string",
     "{{ 1 | string }} {{ none | string }} [{{ nothing | string }}] {{ [1, 'a'] | string }} {{ (1 "
     "| string) + 'x' }}",
     R"json({})json", "1 None [] [1, 'a'] 1x"},
    {"f_default",
     "{{ nothing | default('dflt') }} {{ '' | default('e') }} {{ '' | default('e', true) }} {{ "
     "none | default('n') }} {{ 0 | d('z', boolean=true) }} [{{ nothing | default }}]",
     R"json({})json", "dflt  e None z []"},
    {"f_case",
     "{{ 'aBc' | upper }} {{ 'AbC' | lower }} {{ 'hello world' | capitalize }} {{ 'hello big-world "
     "(x)' | title }} {{ 'ab' .upper() }} {{ \"they're bill's\".title() }}",
     R"json({})json", "ABC abc Hello world Hello Big-World (X) AB They'Re Bill'S"},
    {"f_first_last",
     "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'héj' | first }} {{ 'héj' | last }} [{{ [] "
     "| first }}]",
     R"json({})json", "1 3 h j []"},
    {"f_join",
     "{{ [1, 'a', none] | join }} {{ ['x', 'y'] | join(', ') }} {{ ms | join('/', "
     "attribute='role') }}",
     R"json({"ms": [{"role": "user"}, {"role": "bot"}]})json", "1aNone x, y user/bot"},
    {"f_replace",
     "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', "
     "'-') }} {{ 'a.b'.replace('.', '!') }}",
     R"json({})json", "bbb bba -a-b- a!b"},
    {"f_items",
     "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}[{% for k, v in nothing | items %}{% "
     "endfor %}]",
     R"json({"d": {"a": 1, "b": 2}})json", "a1b2[]"},
    {"f_list_reverse",
     "{{ 'abc' | list }} {{ [1, 2] | reverse | list }} {{ 'héllo' | reverse }} {{ d | list }}",
     R"json({"d": {"a": 1, "b": 2}})json", "['a', 'b', 'c'] [2, 1] olléh ['a', 'b']"},
    {"f_int_float_abs",
     "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ "
     "'2.5' | float }} {{ 'y' | float }} {{ -3 | abs }} {{ -2.5 | abs }} {{ '0x1A' | int(0, 16) }}",
     R"json({})json", "42 4 0 7 3 2.5 0.0 3 2.5 26"},
    {"f_select",
     "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ ms | "
     "rejectattr('role', 'eq', 'user') | list | length }} {{ [0, 1, 2, 3] | select('odd') | list "
     "}} {{ [0, 1, '', 'a'] | select | list }} {{ [1, 2, 3] | reject('gt', 1) | list }} {{ ['a', "
     "'b'] | map('upper') | list }} {{ ms | selectattr('tool') | list | length }}",
     R"json({"ms": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1", "tool": 1}, {"role": "user", "content": "u2"}]})json",
     "['u1', 'u2'] 1 [1, 3] [1, 'a'] [1] ['A', 'B'] 1"},
    {"m_strip",
     "[{{ '  x  '.strip() }}][{{ '\\n\\nx\\n'.lstrip('\\n') }}][{{ 'x\\n\\n'.rstrip('\\n') }}][{{ "
     "'xyabcyx'.strip('xy') }}][{{ '\\u3000 x\\u00a0'.strip() }}]",
     R"json({})json", "[x][x\n][x][abc][x]"},
    {"m_starts_ends",
     "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', "
     "'h')) }} {{ 'hello'.endswith('he') }}",
     R"json({})json", "True True True False"},
    {"m_split",
     "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ "
     "'x</think>y</think>z'.split('</think>')[-1] }} {{ ' a b '.split(none, 1) }} {{ ''.split() }} "
     "{{ ''.split(',') }}",
     R"json({})json", "['a', 'b', '', 'c'] ['a', 'b', 'c'] ['a', 'b c'] z ['a', 'b '] [] ['']"},
    {"m_misc",
     "{{ 'a-b'.find('-') }} {{ 'hé-b'.find('-') }} {{ 'abc'.find('z') }} {{ ', '.join(['x', 'y']) "
     "}} {{ 'Ab'.lower() }} {{ 'hello world'.capitalize() }}",
     R"json({})json", "1 2 -1 x, y ab Hello world"},
    {"namespace_from_dict", "{% set ns = namespace(d) %}{{ ns.a }}{% set ns.a = 5 %}{{ ns.a }}",
     R"json({"d": {"a": 1}})json", "15"},
    {"dict_global", "{{ dict(a=1, b='x') }}", R"json({})json", "{'a': 1, 'b': 'x'}"},
    {"messages_like",
     "{% for m in messages %}{{ m.role }}:{{ m['content'] }}{% if not loop.last %}\n{% endif %}{% "
     "endfor %}",
     R"json({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})json",
     "user:hiassistant:yo"},
    {"attr_on_str_missing", "[{{ 'abc'.nosuch }}]", R"json({})json", "[]"},
    {"bool_int_arith", "{{ true + 1 }} {{ 1.0 * 3 }} {{ 3 % 2.5 }} {{ -3 // 2.0 }}",
     R"json({})json", "2 3.0 0.5 -2.0"},
    {"ws_not_line_start", "a  {% if true %}b{% endif %}  {% if true %}c{% endif %}",
     R"json({})json", "a  b  c"},
    {"ws_tabs_and_unicode", "x\n\t \t{% if true %}y{% endif %}　{%- if true %}z{% endif %}",
     R"json({})json", "x\nyz"},
    {"ws_minus_var_newlines", "{% for m in ms %}\n  {{- m }}\n{% endfor %}",
     R"json({"ms": ["a", "b"]})json", "a\nb\n"},
    {"ws_comment_line", "a\n    {# comment #}\n    b", R"json({})json", "a\n    b"},
    {"ws_nested_dict_close", "{{ {'a': {'b': 1}} }}", R"json({})json", "{'a': {'b': 1}}"},
    {"ws_end_of_template_newline_block", "{% if true %}x{% endif %}\n\n", R"json({})json", "x"},
    {"str_escape_octal", "{{ '\\101\\x42\\t|' }}", R"json({})json", "AB\t|"},
    {"string_in_multiline_tag", "{{\n  'a'\n  ~ 'b'\n}}", R"json({})json", "ab"},
    {"sandbox_dict_repr", "{{ {'k': 'v\"', 'q': \"it's\"} }}", R"json({})json",
     "{'k': 'v\"', 'q': \"it's\"}"},
    {"float_repr",
     "{{ 1e16 }} {{ 1.5e16 }} {{ 123456789.123 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ 2.5e-7 "
     "}} {{ 100.0 }}",
     R"json({})json", "1e+16 1.5e+16 123456789.123 0.0001 1e-05 0.3333333333333333 2.5e-07 100.0"},
    {"loop_in_macro_scope",
     "{% set g = 'G' %}{% macro m(x) %}{{ g }}{{ x }}{% for i in [1] %}{{ loop.index }}{% endfor "
     "%}{% endmacro %}{% for y in 'ab' %}{{ m(y) }}{% endfor %}",
     R"json({})json", "Ga1Gb1"},
    {"is_test_chain_precedence",
     "{{ not x is defined }} {{ x is defined and x }} {{ 'a' if x is none else 'b' }}",
     R"json({"x": null})json", "False None a"},
    {"filter_on_attr_chain", "{{ m.content.split('\\n')[0] | trim | upper }}",
     R"json({"m": {"content": " line one \nline two"}})json", "LINE ONE"},
    {"neg_index_filter", "{{ (xs | last).name }} {{ xs[-1]['name'] }}",
     R"json({"xs": [{"name": "a"}, {"name": "b"}]})json", "b b"},
    {"int_literals", "{{ 0x1F }} {{ 0b101 }} {{ 0o17 }} {{ 0_0 }} {{ 00.5 }} {{ 1_000_000 }}",
     R"json({})json", "31 5 15 0 0.5 1000000"},
    {"python_colon_in_tags",
     "{% for x in [1, 2]: %}{% if x == 1: %}a{% else: %}b{% endif %}{% endfor %}", R"json({})json",
     "ab"},
    {"sameas_undefined", "{{ u is sameas u }} {{ none is sameas none }} {{ true is sameas true }}",
     R"json({})json", "False True True"},
    {"int_float_filters_python_rules",
     "{{ '0x10' | float('no') }} {{ '12' | int(0, 2) }} {{ ' 1_5 ' | int }} {{ 'nan' | float }} {{ "
     "'-inf' | float }}",
     R"json({})json", "no 12 15 nan -inf"},
};

class JinjaRenderTest : public ::testing::TestWithParam<RenderCase> {};

TEST_P(JinjaRenderTest, MatchesJinja2) {
  const RenderCase& c = GetParam();
  EXPECT_EQ(render(c.source, c.context), c.expected) << "template: " << c.source;
}

INSTANTIATE_TEST_SUITE_P(Constructs, JinjaRenderTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(JinjaTemplate, ContextHidesBuiltinsAndRendersAreIndependent) {
  EXPECT_EQ(render("{{ range }}", R"({"range": "mine"})"), "mine");
  // A namespace is created per render: a second render starts from scratch.
  const Template t("{% set ns = namespace(n=0) %}{% set ns.n = ns.n + 1 %}{{ ns.n }}");
  EXPECT_EQ(t.render({}), "1");
  EXPECT_EQ(t.render({}), "1");
}

// Everything outside the subset is refused with the construct and its line,
// never rendered into a different prompt.
TEST(JinjaRefusals, UnsupportedConstructsNameThemselvesAndTheirLine) {
  expect_error([] { render("a\n{% include 'x.jinja' %}"); },
               {"line 2", "unsupported tag 'include'"});
  expect_error([] { render("{% raw %}{{ x }}{% endraw %}"); }, {"line 1", "unsupported tag 'raw'"});
  expect_error([] { render("{% filter upper %}x{% endfilter %}"); }, {"unsupported tag 'filter'"});
  // Unknown filters and tests are refused when the template is parsed, as
  // jinja2 does when it compiles, even where they never run...
  expect_error([] { Template("{% for m in [] %}\n{{ y and x is escaped }}{% endfor %}"); },
               {"line 2", "unsupported test 'escaped'"});
  expect_error(
      [] { Template("{% if x %}{% for m in [] %}{{ m | wordwrap }}{% endfor %}{% endif %}"); },
      {"unsupported filter 'wordwrap'"});
  // ...except inside an if or an inline if, where jinja2 fails only when they
  // are used: a branch that never runs renders.
  EXPECT_EQ(render("{% if false %}{{ x | wordwrap }}{{ x is escaped }}{% endif %}ok"), "ok");
  EXPECT_EQ(render("{{ 'ok' if true else x | wordwrap }}"), "ok");
  EXPECT_EQ(render("{{ x | wordwrap if false }}"), "");
  expect_error([] { render("{% if true %}\n\n{{ x | wordwrap }}{% endif %}"); },
               {"line 3", "unsupported filter 'wordwrap'"});
  expect_error([] { render("{{ [1] | map('wordwrap') | list }}"); },
               {"unsupported filter 'wordwrap'"});
  expect_error([] { render("{{ [1] | select('escaped') | list }}"); },
               {"unsupported test 'escaped'"});
  expect_error([] { render("x\n{{ 'a'.isdigit() }}"); },
               {"line 2", "unsupported method str.isdigit()"});
  expect_error([] { render("{{ {'a': 1}.update({}) }}"); }, {"unsupported method dict.update()"});
  expect_error([] { render("{{ [1].append(2) }}"); }, {"unsupported method list.append()"});
  expect_error([] { render("{% for x in [] recursive %}{% endfor %}"); },
               {"unsupported recursive for loop"});
  expect_error([] { render("{{ '%s' % 1 }}"); }, {"printf-style string formatting"});
  expect_error([] { render("{{ f(*xs) }}"); }, {"unsupported *args/**kwargs"});
  expect_error([] { render("{{ xs[1, 2] }}"); }, {"unsupported tuple subscript"});
  expect_error([] { render("{% set x | upper %}a{% endset %}"); },
               {"unsupported filtered block set"});
  expect_error([] { render("{{ cycler('a') }}"); }, {"unsupported global function 'cycler'"});
  expect_error([] { render("{{ {1: 2} }}"); }, {"unsupported dict key of type int"});
  expect_error([] { render("{{ 'é' | upper }}"); }, {"non-ASCII"});
  expect_error([] { render("{{ 'x' | trim('a', 'b') }}"); }, {"filter 'trim' takes at most 1"});
  expect_error([] { render("{{ 'x' | tojson(width=2) }}"); },
               {"filter 'tojson' got an unexpected argument 'width'"});
}

TEST(JinjaRefusals, SyntaxErrorsNameTheLine) {
  expect_error([] { render("{% if true %}\nx"); }, {"missing '{% endif %}'", "line 1"});
  expect_error([] { render("\n\n{{ 1 + }}"); }, {"line 3", "expected an expression"});
  expect_error([] { render("{{ 1 $ 2 }}"); }, {"line 1", "unexpected character '$'"});
  expect_error([] { render("\n{{ 'abc }}"); }, {"line 2", "unterminated string"});
  expect_error([] { render("{# open"); }, {"unclosed comment"});
  expect_error([] { render("{{ x "); }, {"unclosed '{{'"});
  expect_error([] { render("{% break %}"); }, {"'break' outside a for loop"});
  expect_error([] { render("{% endif %}"); }, {"unsupported tag 'endif'"});
}

// Errors jinja2 raises at render time are raised too, with the line.
TEST(JinjaRefusals, RuntimeErrorsAsInJinja2) {
  expect_error([] { render("\n{{ nothing.attr }}"); }, {"line 2", "'nothing' is undefined"});
  expect_error([] { render("{{ d.a.b }}", R"({"d": {}})"); },
               {"'dict object' has no attribute 'a'"});
  expect_error([] { render("{{ nothing + 1 }}"); }, {"'nothing' is undefined"});
  expect_error([] { render("{{ nosuchfn() }}"); }, {"'nosuchfn' is undefined"});
  expect_error([] { render("{{ 'a' + 1 }}"); },
               {"unsupported operand type(s) for +: 'str' and 'int'"});
  expect_error([] { render("{{ 2 + 3 ~ 4 }}"); },  // ~ binds tighter than +
               {"unsupported operand type(s) for +: 'int' and 'str'"});
  expect_error([] { render("{{ 1 < 'a' }}"); }, {"ordering is not supported"});
  expect_error([] { render("{{ 1 // 0 }}"); }, {"division or modulo by zero"});
  expect_error([] { render("{{ 9223372036854775807 + 1 }}"); }, {"integer overflow"});
  expect_error([] { render("{% set d = {} %}{% set d.x = 1 %}"); }, {"not a namespace"});
  expect_error([] { render("{{ nothing | tojson }}"); }, {"not JSON serializable"});
  expect_error([] { render("{% for a, b in [[1, 2, 3]] %}{% endfor %}"); },
               {"cannot unpack 3 value(s) into 2"});
  expect_error([] { render("{% for x in none %}{% endfor %}"); },
               {"'NoneType' object is not iterable"});
  expect_error([] { render("{{ 'abc' | length(1) }}"); }, {"takes at most 0"});
  expect_error([] { render("{{ namespace() }}"); }, {"cannot print a Namespace"});
  expect_error([] { render("{{ range(200000) | length }}"); }, {"range too big"});
}

}  // namespace
}  // namespace brigade::test
