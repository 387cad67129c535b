#pragma once
// A checkpoint's chat template: formats a conversation into the prompt text
// the model was trained on, exactly as Hugging Face transformers'
// `tokenizer.apply_chat_template(messages, tokenize=False,
// add_generation_prompt=...)` does, and says which strings end a turn (to
// stop generation there).
//
// The template comes from the model directory: `chat_template.jinja` if
// present (transformers' separate-file form), else the `chat_template` field
// of `tokenizer_config.json` (a string, or a list of named templates of which
// the one named "default" is used). It is rendered by the Jinja interpreter of
// jinja_eval.h with the variables transformers passes:
//   messages               list of {"role": ..., "content": ...}
//   add_generation_prompt  bool
//   tools, documents       None (unless given in ChatRenderOptions::variables)
//   bos_token, eos_token, unk_token, sep_token, pad_token, cls_token,
//   mask_token             those set (non-empty) in tokenizer_config.json
//   additional_special_tokens  list of str, when non-empty
//   raise_exception(msg)   throws an Error carrying the template's message
//   strftime_now(fmt)      the current local time formatted by strftime
//                          (C locale; the clock is injectable)
//
// Usage (what `--chat` needs):
//   ChatTemplate chat = ChatTemplate::load(model_dir);
//   std::string prompt = chat.render({{"system", s}, {"user", p}}, true);
//   for (const std::string& stop : chat.end_of_turn()) ...
// Note: the rendered text already holds the template's BOS token when the
// template emits one (Llama 3 does); tokenize it without adding another.

#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace brigade {

namespace jinja {
class Template;
}

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool", ...
  std::string content;  // UTF-8
};

// The special tokens of tokenizer_config.json, as the template sees them.
struct ChatSpecialTokens {
  // transformers' special_tokens_map: the non-empty ones of bos_token,
  // eos_token, unk_token, sep_token, pad_token, cls_token, mask_token.
  std::vector<std::pair<std::string, std::string>> named;
  std::vector<std::string> additional;  // additional_special_tokens
  // Every special token string: the above plus the `added_tokens_decoder`
  // entries marked special. Candidates for end_of_turn().
  std::vector<std::string> all;

  // Reads them from a parsed tokenizer_config.json (a token may be a string,
  // an AddedToken object {"content": ...} or null). Throws Error naming the
  // field when one has another type. `origin` names the file in messages.
  static ChatSpecialTokens from_tokenizer_config(const nlohmann::ordered_json& config,
                                                 const std::string& origin);
  // The named token's string, or "" when not set.
  std::string get(const std::string& name) const;
};

// Inputs of a render beyond the messages.
struct ChatRenderOptions {
  // Extra template variables, like the keyword arguments of
  // apply_chat_template (e.g. {"enable_thinking": false} for Qwen3, or
  // {"tools": [...]}). Must be a JSON object; may not set `messages` or
  // `add_generation_prompt`. Default: none.
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  // The clock behind strftime_now(). Default (empty): the local time now.
  std::function<std::tm()> now;
};

class ChatTemplate {
 public:
  // Loads the template and special tokens of a Hugging Face model directory
  // (see above). Throws Error when the directory has no chat template (then
  // `--chat` cannot be used with this model), when the template has a syntax
  // error or uses a construct the interpreter does not support (naming it
  // and its line), or when tokenizer_config.json is malformed.
  static ChatTemplate load(const std::filesystem::path& model_dir);

  // From a parsed tokenizer_config.json; `origin` names it in messages.
  static ChatTemplate from_tokenizer_config(const nlohmann::ordered_json& config,
                                            const std::string& origin);

  // A template source with its special tokens. Throws Error as load() does.
  ChatTemplate(const std::string& source, ChatSpecialTokens tokens, std::string origin);

  // The prompt text for `messages`; with `add_generation_prompt` it ends with
  // the header of an assistant turn (for templates that honour the flag).
  // Throws Error when a message is not valid UTF-8, or when the template fails
  // (raise_exception, an undefined value used, an unsupported method or
  // operation), with the template's line.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const ChatRenderOptions& options = {}) const;

  // The strings that end an assistant turn, to stop generation at: the
  // eos_token, plus the special token the template writes right after an
  // assistant message's content. That token is found by rendering a probe
  // conversation [user, assistant, user] whose assistant content is a marker
  // word, and taking the longest special token (ChatSpecialTokens::all) that
  // starts the text after the marker, leading whitespace skipped: this gives
  // <|eot_id|> for Llama 3 and <|im_end|> for ChatML (Qwen). If the probe
  // cannot be rendered or no special token follows the marker, only the
  // eos_token is listed. Empty only when there is no eos_token either.
  const std::vector<std::string>& end_of_turn() const { return end_of_turn_; }

  const std::string& source() const { return source_; }
  const ChatSpecialTokens& special_tokens() const { return tokens_; }

 private:
  std::vector<std::string> find_end_of_turn() const;

  std::string source_;
  ChatSpecialTokens tokens_;
  std::string origin_;
  std::shared_ptr<const jinja::Template> template_;
  std::vector<std::string> end_of_turn_;
};

}  // namespace brigade
