#pragma once
// Chat mode (`--chat [--system TEXT]` on run, generate and tokenize): the
// conversation rendered with the checkpoint's own chat template, its token
// ids, and the ids that end the assistant's turn.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace brigade::cli {

struct ChatPrompt {
  std::string text;               // the rendered conversation
  std::vector<int32_t> ids;       // its ids; the template writes BOS and the like itself
  std::vector<int32_t> stop_ids;  // end-of-turn tokens (eos, <|eot_id|>, <|im_end|>, ...)
};

// Renders [system (when not empty), user] with add_generation_prompt.
// Throws Error when the checkpoint has no chat template, the template uses
// something unsupported (named), or an end-of-turn string is not one token.
ChatPrompt make_chat_prompt(const std::filesystem::path& model_dir, const Tokenizer& tokenizer,
                            const std::string& system, const std::string& user);

}  // namespace brigade::cli
