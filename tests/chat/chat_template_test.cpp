#include "chat/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/expect_error.h"
#include "util/temp_dir.h"

namespace brigade::test {
namespace {

const std::string kTokenizers = std::string(BRIGADE_SHARED_DIR) + "/tokenizers/";

struct FixtureCase {
  const char* name;
  const char* model;  // directory under ../shared/tokenizers
  std::vector<ChatMessage> messages;
  bool add_generation_prompt;
  const char* variables;  // JSON object of extra template variables
  const char* expected;
};

// The published templates of the fixtures, rendered by transformers' method:
// jinja2 3.1.6, ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True, extensions=[loopcontrols]), tojson = json.dumps(x,
// ensure_ascii=False, indent=...), raise_exception and strftime_now globals,
// render(messages=..., tools=None, documents=None, add_generation_prompt=...,
// **special_tokens_map, **variables), where special_tokens_map holds the
// non-empty bos/eos/unk/sep/pad/cls/mask tokens and additional_special_tokens
// of tokenizer_config.json. The outputs are pasted here verbatim.
const FixtureCase kFixtureCases[] = {
    {"llama3_single_gen",
     "llama3",
     {{"user", "Hello! How are you?"}},
     true,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_single_nogen",
     "llama3",
     {{"user", "Hello! How are you?"}},
     false,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_single_system_gen",
     "llama3",
     {{"system", "You are a helpful assistant."}, {"user", "Hello! How are you?"}},
     true,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
     "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_single_system_nogen",
     "llama3",
     {{"system", "You are a helpful assistant."}, {"user", "Hello! How are you?"}},
     false,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
     "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_multi_gen",
     "llama3",
     {{"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     true,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks. How can I "
     "help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWrite \"hi\" in French, then "
     "explain ünïcödé 中文 😀.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_multi_nogen",
     "llama3",
     {{"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     false,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks. How can I "
     "help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWrite \"hi\" in French, then "
     "explain ünïcödé 中文 😀.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_multi_system_gen",
     "llama3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     true,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
     "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks. How can I "
     "help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWrite \"hi\" in French, then "
     "explain ünïcödé 中文 😀.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_multi_system_nogen",
     "llama3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     false,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
     "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks. How can I "
     "help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWrite \"hi\" in French, then "
     "explain ünïcödé 中文 😀.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_whitespace_gen",
     "llama3",
     {{"user", "  \n padded text\t \n"}},
     true,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\npadded "
     "text<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_whitespace_nogen",
     "llama3",
     {{"user", "  \n padded text\t \n"}},
     false,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\npadded "
     "text<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_assistant_last_gen",
     "llama3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"}},
     true,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
     "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks. How can I "
     "help?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"llama3_assistant_last_nogen",
     "llama3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"}},
     false,
     R"json({})json",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
     "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
     "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI'm fine, thanks. How can I "
     "help?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"qwen3_single_gen",
     "qwen3",
     {{"user", "Hello! How are you?"}},
     true,
     R"json({})json",
     "<|im_start|>user\nHello! How are you?<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_single_nogen",
     "qwen3",
     {{"user", "Hello! How are you?"}},
     false,
     R"json({})json",
     "<|im_start|>user\nHello! How are you?<|im_end|>\n"},
    {"qwen3_single_system_gen",
     "qwen3",
     {{"system", "You are a helpful assistant."}, {"user", "Hello! How are you?"}},
     true,
     R"json({})json",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_single_system_nogen",
     "qwen3",
     {{"system", "You are a helpful assistant."}, {"user", "Hello! How are you?"}},
     false,
     R"json({})json",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n"},
    {"qwen3_multi_gen",
     "qwen3",
     {{"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     true,
     R"json({})json",
     "<|im_start|>user\nHello! How are you?<|im_end|>\n<|im_start|>assistant\nI'm fine, thanks. "
     "How can I help?<|im_end|>\n<|im_start|>user\nWrite \"hi\" in French, then explain ünïcödé "
     "中文 😀.<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_multi_nogen",
     "qwen3",
     {{"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     false,
     R"json({})json",
     "<|im_start|>user\nHello! How are you?<|im_end|>\n<|im_start|>assistant\nI'm fine, thanks. "
     "How can I help?<|im_end|>\n<|im_start|>user\nWrite \"hi\" in French, then explain ünïcödé "
     "中文 😀.<|im_end|>\n"},
    {"qwen3_multi_system_gen",
     "qwen3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     true,
     R"json({})json",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\nI'm fine, thanks. How can I "
     "help?<|im_end|>\n<|im_start|>user\nWrite \"hi\" in French, then explain ünïcödé 中文 "
     "😀.<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_multi_system_nogen",
     "qwen3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."}},
     false,
     R"json({})json",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\nI'm fine, thanks. How can I "
     "help?<|im_end|>\n<|im_start|>user\nWrite \"hi\" in French, then explain ünïcödé 中文 "
     "😀.<|im_end|>\n"},
    {"qwen3_whitespace_gen",
     "qwen3",
     {{"user", "  \n padded text\t \n"}},
     true,
     R"json({})json",
     "<|im_start|>user\n  \n padded text\t \n<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_whitespace_nogen",
     "qwen3",
     {{"user", "  \n padded text\t \n"}},
     false,
     R"json({})json",
     "<|im_start|>user\n  \n padded text\t \n<|im_end|>\n"},
    {"qwen3_assistant_last_gen",
     "qwen3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"}},
     true,
     R"json({})json",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nI'm fine, thanks. How can I "
     "help?<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_assistant_last_nogen",
     "qwen3",
     {{"system", "You are a helpful assistant."},
      {"user", "Hello! How are you?"},
      {"assistant", "I'm fine, thanks. How can I help?"}},
     false,
     R"json({})json",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nI'm fine, thanks. How can I "
     "help?<|im_end|>\n"},
    {"qwen3_thinking_history",
     "qwen3",
     {{"user", "Hello! How are you?"},
      {"assistant", "<think>\nLet me think.\n</think>\n\nBonjour!"},
      {"user", "Write \"hi\" in French, then explain ünïcödé 中文 😀."},
      {"assistant", "<think>\nLet me think.\n</think>\n\nBonjour!"}},
     false,
     R"json({})json",
     "<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\nBonjour!<|im_end|>\n<|im_start|>user\nWrite \"hi\" in "
     "French, then explain ünïcödé 中文 😀.<|im_end|>\n<|im_start|>assistant\n<think>\nLet me "
     "think.\n</think>\n\nBonjour!<|im_end|>\n"},
    {"qwen3_thinking_last",
     "qwen3",
     {{"user", "Hello! How are you?"},
      {"assistant", "<think>\nLet me think.\n</think>\n\nBonjour!"}},
     false,
     R"json({})json",
     "<|im_start|>user\nHello! How are you?<|im_end|>\n<|im_start|>assistant\n<think>\nLet me "
     "think.\n</think>\n\nBonjour!<|im_end|>\n"},
    {"qwen3_enable_thinking_false",
     "qwen3",
     {{"user", "Hello! How are you?"}},
     true,
     R"json({"enable_thinking": false})json",
     "<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
    {"qwen3_tools",
     "qwen3",
     {{"system", "You are a helpful assistant."}, {"user", "Hello! How are you?"}},
     true,
     R"json({"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo du jour", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1.5}}, "required": ["city"]}}}]})json",
     "<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n\nYou may call one or more "
     "functions to assist with the user query.\n\nYou are provided with function signatures within "
     "<tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": "
     "\"get_weather\", \"description\": \"Météo du jour\", \"parameters\": {\"type\": \"object\", "
     "\"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": \"integer\", "
     "\"minimum\": 1.5}}, \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return "
     "a json object with function name and arguments within <tool_call></tool_call> XML "
     "tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
     "<args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen3_tool_response",
     "qwen3",
     {{"user", "Hello! How are you?"},
      {"assistant", "Calling."},
      {"tool", "sunny"},
      {"tool", "22C"}},
     true,
     R"json({})json",
     "<|im_start|>user\nHello! How are "
     "you?<|im_end|>\n<|im_start|>assistant\nCalling.<|im_end|>\n<|im_start|>user\n<tool_response>"
     "\nsunny\n</tool_response>\n<tool_response>\n22C\n</"
     "tool_response><|im_end|>\n<|im_start|>assistant\n"},
};

class FixtureTemplateTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureTemplateTest, RendersAsTransformers) {
  const FixtureCase& c = GetParam();
  const ChatTemplate chat = ChatTemplate::load(kTokenizers + c.model);
  ChatRenderOptions options;
  options.variables = nlohmann::ordered_json::parse(c.variables);
  EXPECT_EQ(chat.render(c.messages, c.add_generation_prompt, options), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureTemplateTest, ::testing::ValuesIn(kFixtureCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ChatTemplate, EndOfTurnOfTheFixtures) {
  EXPECT_EQ(ChatTemplate::load(kTokenizers + "llama3").end_of_turn(),
            (std::vector<std::string>{"<|end_of_text|>", "<|eot_id|>"}));
  // Qwen3's eos_token is <|im_end|> itself: listed once.
  EXPECT_EQ(ChatTemplate::load(kTokenizers + "qwen3").end_of_turn(),
            (std::vector<std::string>{"<|im_end|>"}));
}

TEST(ChatTemplate, ModelWithoutTemplateIsRefused) {
  expect_error([] { ChatTemplate::load(kTokenizers + "llama2"); },
               {"llama2/tokenizer_config.json", "no 'chat_template'", "chat mode cannot be used"});
  TempDir dir("brigade-chat");
  expect_error([&] { ChatTemplate::load(dir.path()); }, {"no tokenizer_config.json"});
}

nlohmann::ordered_json config(const std::string& json) {
  return nlohmann::ordered_json::parse(json);
}

TEST(ChatTemplate, ListOfNamedTemplatesUsesDefault) {
  const auto chat = ChatTemplate::from_tokenizer_config(config(R"({
      "chat_template": [{"name": "tool_use", "template": "T"},
                        {"name": "default", "template": "D{{ eos_token }}"}],
      "eos_token": "</s>"})"),
                                                        "cfg");
  EXPECT_EQ(chat.render({{"user", "hi"}}, false), "D</s>");
  expect_error(
      [] {
        ChatTemplate::from_tokenizer_config(
            config(R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                         {"name": "rag", "template": "R"}]})"),
            "cfg");
      },
      {"cfg", "no template named 'default'", "tool_use, rag"});
  expect_error(
      [] { ChatTemplate::from_tokenizer_config(config(R"({"chat_template": 3})"), "cfg"); },
      {"'chat_template' must be a string or a list"});
}

TEST(ChatTemplate, ContextHasTransformersVariables) {
  const auto chat = ChatTemplate::from_tokenizer_config(config(R"({
      "chat_template": "{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}|{{ unk_token }}|{{ additional_special_tokens }}|{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|{{ messages[0].role }}:{{ messages[0]['content'] }}",
      "bos_token": {"content": "<s>", "lstrip": false, "__type": "AddedToken"},
      "eos_token": "</s>", "pad_token": null, "unk_token": "<unk>",
      "additional_special_tokens": ["<a>", {"content": "<b>"}]})"),
                                                        "cfg");
  EXPECT_EQ(chat.render({{"user", "hi"}}, true),
            "<s>|</s>|False|<unk>|['<a>', '<b>']|True|True|True|user:hi");
  ChatRenderOptions options;
  options.variables = {{"tools", nlohmann::ordered_json::array({{{"name", "f"}}})}};
  const auto tools = ChatTemplate::from_tokenizer_config(
      config(R"({"chat_template": "{{ tools | tojson }}"})"), "cfg");
  EXPECT_EQ(tools.render({}, false, options), R"([{"name": "f"}])");
  options.variables = {{"messages", 1}};
  expect_error([&] { tools.render({}, false, options); },
               {"'messages' is set from the arguments of render()"});
  expect_error(
      [] {
        ChatTemplate::from_tokenizer_config(config(R"({"chat_template": "x", "eos_token": 5})"),
                                            "cfg");
      },
      {"cfg", "'eos_token' must be a string"});
}

TEST(ChatTemplate, RaiseExceptionCarriesTheTemplateMessage) {
  const ChatTemplate chat(
      "{% if messages[0].role != 'user' %}\n"
      "{{ raise_exception('Conversation must start with a user message') }}\n"
      "{% endif %}ok",
      {}, "cfg.json");
  EXPECT_EQ(chat.render({{"user", "hi"}}, false), "ok");
  expect_error(
      [&] {
        chat.render({{"assistant", "hi"}}, false);
      },
      {"cfg.json", "line 2", "Conversation must start with a user message"});
}

TEST(ChatTemplate, StrftimeNowUsesTheInjectedClock) {
  // The Llama 3.1 pattern: a date_string variable wins over the clock.
  const ChatTemplate chat(
      "{%- if not date_string is defined %}\n"
      "    {%- set date_string = strftime_now(\"%d %b %Y\") %}\n"
      "{%- endif %}\n"
      "Today Date: {{ date_string }}|{{ strftime_now('%A %H:%M:%S') }}",
      {}, "cfg");
  ChatRenderOptions options;
  options.now = [] {
    std::tm tm{};
    tm.tm_year = 2024 - 1900;
    tm.tm_mon = 6;
    tm.tm_mday = 26;
    tm.tm_wday = 5;
    tm.tm_hour = 13;
    tm.tm_min = 5;
    tm.tm_sec = 9;
    return tm;
  };
  // Python: datetime(2024, 7, 26, 13, 5, 9).strftime(...)
  EXPECT_EQ(chat.render({}, false, options), "Today Date: 26 Jul 2024|Friday 13:05:09");
  options.variables = {{"date_string", "01 Jan 2000"}};
  EXPECT_EQ(chat.render({}, false, options), "Today Date: 01 Jan 2000|Friday 13:05:09");
}

TEST(ChatTemplate, EndOfTurnIsTheSpecialTokenAfterAssistantContent) {
  ChatSpecialTokens tokens;
  tokens.named = {{"eos_token", "</s>"}};
  tokens.all = {"</s>", "<end_of_turn>", "<end>"};
  // Gemma-like: a special token that is not the eos.
  const ChatTemplate gemma(
      "{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content | trim }}<end_of_turn>\n"
      "{% endfor %}",
      tokens, "cfg");
  EXPECT_EQ(gemma.end_of_turn(), (std::vector<std::string>{"</s>", "<end_of_turn>"}));
  // Mistral/Zephyr-like: the eos follows the answer.
  const ChatTemplate zephyr(
      "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% if m.role == 'assistant' %} "
      "{{ eos_token }}{% endif %}\n{% endfor %}",
      tokens, "cfg");
  EXPECT_EQ(zephyr.end_of_turn(), std::vector<std::string>{"</s>"});
  // Plain text after the answer: only the eos is known.
  const ChatTemplate plain("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}",
                           tokens, "cfg");
  EXPECT_EQ(plain.end_of_turn(), std::vector<std::string>{"</s>"});
  // A template that refuses the probe conversation: the eos only.
  const ChatTemplate strict("{{ raise_exception('no') }}", tokens, "cfg");
  EXPECT_EQ(strict.end_of_turn(), std::vector<std::string>{"</s>"});
}

TEST(ChatTemplate, FilesAndInputsAreChecked) {
  TempDir dir("brigade-chat");
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": "from config", "eos_token": "</s>"})";
  EXPECT_EQ(ChatTemplate::load(dir.path()).render({}, false), "from config");
  // transformers' separate-file form wins over the config field.
  std::ofstream(dir / "chat_template.jinja") << "from file {{ eos_token }}\n";
  EXPECT_EQ(ChatTemplate::load(dir.path()).render({}, false), "from file </s>");
  std::ofstream(dir / "chat_template.jinja") << "{% frobnicate %}";
  expect_error([&] { ChatTemplate::load(dir.path()); },
               {"chat_template.jinja", "line 1", "unsupported tag 'frobnicate'"});
  std::ofstream(dir / "tokenizer_config.json") << "{not json";
  expect_error([&] { ChatTemplate::load(dir.path()); }, {"tokenizer_config.json", "invalid JSON"});

  const ChatTemplate chat("{{ messages[0].content }}", {}, "cfg");
  expect_error(
      [&] {
        chat.render({{"user", std::string("\xff\xfe")}}, false);
      },
      {"chat message 0 is not valid UTF-8"});
}

}  // namespace
}  // namespace brigade::test
