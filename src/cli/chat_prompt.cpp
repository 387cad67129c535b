#include "cli/chat_prompt.h"

#include "chat/chat_template.h"
#include "util/error.h"

namespace brigade::cli {

ChatPrompt make_chat_prompt(const std::filesystem::path& model_dir, const Tokenizer& tokenizer,
                            const std::string& system, const std::string& user) {
  const ChatTemplate chat = ChatTemplate::load(model_dir);
  std::vector<ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", user});
  ChatPrompt prompt;
  prompt.text = chat.render(messages, /*add_generation_prompt=*/true);
  // As transformers' apply_chat_template(tokenize=True): the rendered text
  // already holds its special tokens, so none are added.
  prompt.ids = tokenizer.encode(prompt.text, /*add_special_tokens=*/false);
  for (const auto& token : chat.end_of_turn()) {
    const auto id = tokenizer.id_of(token);
    require(id.has_value(),
            "{}: the chat template ends turns with '{}', which is not one token of the tokenizer",
            model_dir.string(), token);
    prompt.stop_ids.push_back(*id);
  }
  return prompt;
}

}  // namespace brigade::cli
