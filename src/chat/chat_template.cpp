#include "chat/chat_template.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "chat/jinja_eval.h"
#include "util/error.h"

namespace brigade {
namespace {

namespace fs = std::filesystem;
using jinja::Value;
using jinja::ValueDict;

// The special-token attributes of transformers' special_tokens_map, in its
// order.
const char* const kNamedTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                    "pad_token", "cls_token", "mask_token"};

// A token given as a string, an AddedToken object or null ("" for null).
std::string token_string(const nlohmann::ordered_json& j, const std::string& field,
                         const std::string& origin) {
  if (j.is_null()) return "";
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  fail("{}: '{}' must be a string, an object with a string 'content', or null", origin, field);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  require(static_cast<bool>(in), "cannot read {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::tm local_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

std::string strftime_string(const std::string& format, const std::tm& tm) {
  if (format.empty()) return "";
  for (size_t size = 256; size <= (1u << 20); size *= 4) {
    std::string buffer(size, '\0');
    const size_t n = std::strftime(buffer.data(), buffer.size(), format.c_str(), &tm);
    if (n > 0) return buffer.substr(0, n);
  }
  fail("strftime_now: format '{}' gives no output", format);
}

// The marker contents of the end-of-turn probe (plain words, so that no
// template trims or escapes them).
constexpr const char* kProbeQuestion = "brigadeprobequestion";
constexpr const char* kProbeAnswer = "brigadeprobeanswer";

}  // namespace

ChatSpecialTokens ChatSpecialTokens::from_tokenizer_config(const nlohmann::ordered_json& config,
                                                           const std::string& origin) {
  require(config.is_object(), "{}: not a JSON object", origin);
  ChatSpecialTokens tokens;
  auto add_special = [&](const std::string& s) {
    if (!s.empty() && std::find(tokens.all.begin(), tokens.all.end(), s) == tokens.all.end())
      tokens.all.push_back(s);
  };
  for (const char* name : kNamedTokens) {
    if (!config.contains(name)) continue;
    const std::string value = token_string(config[name], name, origin);
    if (value.empty()) continue;
    tokens.named.emplace_back(name, value);
    add_special(value);
  }
  if (config.contains("additional_special_tokens")) {
    const auto& list = config["additional_special_tokens"];
    require(list.is_array() || list.is_null(), "{}: 'additional_special_tokens' must be a list",
            origin);
    if (list.is_array()) {
      for (const auto& item : list) {
        const std::string value = token_string(item, "additional_special_tokens", origin);
        if (value.empty()) continue;
        tokens.additional.push_back(value);
        add_special(value);
      }
    }
  }
  if (config.contains("added_tokens_decoder")) {
    const auto& decoder = config["added_tokens_decoder"];
    require(decoder.is_object(), "{}: 'added_tokens_decoder' must be an object", origin);
    for (const auto& [id, entry] : decoder.items()) {
      require(entry.is_object() && entry.contains("content") && entry["content"].is_string(),
              "{}: added_tokens_decoder entry {} has no string 'content'", origin, id);
      if (entry.value("special", false)) add_special(entry["content"].get<std::string>());
    }
  }
  return tokens;
}

std::string ChatSpecialTokens::get(const std::string& name) const {
  for (const auto& [k, v] : named)
    if (k == name) return v;
  return "";
}

ChatTemplate ChatTemplate::load(const fs::path& model_dir) {
  const fs::path config_path = model_dir / "tokenizer_config.json";
  const fs::path jinja_path = model_dir / "chat_template.jinja";
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  if (fs::exists(config_path)) {
    try {
      config = nlohmann::ordered_json::parse(read_file(config_path));
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON: {}", config_path.string(), e.what());
    }
  }
  if (fs::exists(jinja_path)) {
    return ChatTemplate(read_file(jinja_path),
                        ChatSpecialTokens::from_tokenizer_config(config, config_path.string()),
                        jinja_path.string());
  }
  require(fs::exists(config_path),
          "model directory {} has no tokenizer_config.json and no chat_template.jinja, so it has "
          "no chat template",
          model_dir.string());
  return from_tokenizer_config(config, config_path.string());
}

ChatTemplate ChatTemplate::from_tokenizer_config(const nlohmann::ordered_json& config,
                                                 const std::string& origin) {
  require(config.is_object(), "{}: not a JSON object", origin);
  require(config.contains("chat_template") && !config["chat_template"].is_null(),
          "{} has no 'chat_template': this model defines no chat format, so chat mode cannot "
          "be used with it",
          origin);
  const auto& field = config["chat_template"];
  std::string source;
  if (field.is_string()) {
    source = field.get<std::string>();
  } else if (field.is_array()) {
    // transformers' list form: [{"name": ..., "template": ...}]; without a
    // choice it uses the one named "default".
    std::vector<std::string> names;
    for (const auto& entry : field) {
      require(entry.is_object() && entry.contains("name") && entry["name"].is_string() &&
                  entry.contains("template") && entry["template"].is_string(),
              "{}: each entry of 'chat_template' needs a string 'name' and 'template'", origin);
      names.push_back(entry["name"].get<std::string>());
      if (names.back() == "default") source = entry["template"].get<std::string>();
    }
    require(!source.empty() || std::find(names.begin(), names.end(), "default") != names.end(),
            "{}: 'chat_template' has no template named 'default' (it has: {})", origin,
            fmt::join(names, ", "));
  } else {
    fail("{}: 'chat_template' must be a string or a list of named templates", origin);
  }
  return ChatTemplate(source, ChatSpecialTokens::from_tokenizer_config(config, origin), origin);
}

ChatTemplate::ChatTemplate(const std::string& source, ChatSpecialTokens tokens, std::string origin)
    : source_(source), tokens_(std::move(tokens)), origin_(std::move(origin)) {
  try {
    template_ = std::make_shared<const jinja::Template>(source_);
  } catch (const Error& e) {
    fail("{}: {}", origin_, e.what());
  }
  end_of_turn_ = find_end_of_turn();
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt,
                                 const ChatRenderOptions& options) const {
  jinja::ValueList message_values;
  for (size_t i = 0; i < messages.size(); ++i) {
    require(jinja::is_valid_utf8(messages[i].role) && jinja::is_valid_utf8(messages[i].content),
            "chat message {} is not valid UTF-8", i);
    ValueDict message;
    message.set("role", Value::string(messages[i].role));
    message.set("content", Value::string(messages[i].content));
    message_values.push_back(Value::dict(std::move(message)));
  }
  ValueDict context;
  context.set("messages", Value::list(std::move(message_values)));
  context.set("tools", Value::none());
  context.set("documents", Value::none());
  context.set("add_generation_prompt", Value::boolean(add_generation_prompt));
  for (const auto& [name, value] : tokens_.named) context.set(name, Value::string(value));
  if (!tokens_.additional.empty()) {
    jinja::ValueList additional;
    for (const auto& s : tokens_.additional) additional.push_back(Value::string(s));
    context.set("additional_special_tokens", Value::list(std::move(additional)));
  }
  context.set("raise_exception",
              Value::function("raise_exception", [](const jinja::CallArgs& a) -> Value {
                if (a.positional.size() != 1 || !a.keyword.empty())
                  fail("raise_exception() takes one argument");
                fail("the template raised an error: {}", a.positional[0].str());
              }));
  const std::function<std::tm()> now = options.now ? options.now : local_now;
  context.set("strftime_now", Value::function("strftime_now", [now](const jinja::CallArgs& a) {
                if (a.positional.size() != 1 || !a.keyword.empty() || !a.positional[0].is_string())
                  fail("strftime_now() takes one str argument");
                return Value::string(strftime_string(a.positional[0].as_string(), now()));
              }));
  require(options.variables.is_object(), "chat render variables must be a JSON object");
  for (const auto& [name, value] : options.variables.items()) {
    require(name != "messages" && name != "add_generation_prompt",
            "chat render variable '{}' is set from the arguments of render()", name);
    context.set(name, Value::from_json(value));
  }
  try {
    return template_->render(context);
  } catch (const Error& e) {
    fail("{}: {}", origin_, e.what());
  }
}

std::vector<std::string> ChatTemplate::find_end_of_turn() const {
  std::vector<std::string> result;
  const std::string eos = tokens_.get("eos_token");
  if (!eos.empty()) result.push_back(eos);
  std::string probe;
  try {
    probe = render(
        {{"user", kProbeQuestion}, {"assistant", kProbeAnswer}, {"user", kProbeQuestion}}, true);
  } catch (const Error&) {
    return result;  // documented: eos only
  }
  const size_t marker = probe.find(kProbeAnswer);
  if (marker == std::string::npos) return result;
  size_t at = marker + std::string_view(kProbeAnswer).size();
  while (at < probe.size() && std::isspace(static_cast<unsigned char>(probe[at]))) ++at;
  std::string best;
  for (const std::string& token : tokens_.all)
    if (token.size() > best.size() && std::string_view(probe).substr(at).starts_with(token))
      best = token;
  if (!best.empty() && std::find(result.begin(), result.end(), best) == result.end())
    result.push_back(best);
  return result;
}

}  // namespace brigade
