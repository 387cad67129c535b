// `brigade tokenize`: text -> ids and ids -> text with a checkpoint's own
// tokenizer (tokenizer.json or tokenizer.model), so that anyone can compare
// Brigade's tokenization with another implementation's.

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/chat_prompt.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "util/error.h"

namespace brigade::cli {

namespace {

struct TokenizeFlags {
  std::string model;
  std::string text;
  std::string file;
  std::string decode;  // "1,2,3"
  bool json = false;
  bool no_special_tokens = false;
  bool chat = false;
  std::string system;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "--file: cannot open {}", path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void print_json(const nlohmann::json& json) {
  std::printf("%s\n", json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_decoded(const Tokenizer& tokenizer, const TokenizeFlags& flags) {
  const auto ids = parse_ids(flags.decode, tokenizer.size(), "--decode");
  const std::string text = tokenizer.decode(ids);
  if (flags.json) {
    print_json({{"text", text}});
  } else {
    std::printf("%s\n", text.c_str());
  }
}

// The text to encode: --text or the contents of --file.
std::string input_text(const TokenizeFlags& flags) {
  return flags.file.empty() ? flags.text : read_file(flags.file);
}

void print_encoded(const Tokenizer& tokenizer, const TokenizeFlags& flags) {
  std::vector<int32_t> ids;
  std::string rendered;  // --chat: the conversation as the template wrote it
  if (flags.chat) {
    auto chat = make_chat_prompt(flags.model, tokenizer, flags.system, input_text(flags));
    ids = std::move(chat.ids);
    rendered = std::move(chat.text);
  } else {
    ids = tokenizer.encode(input_text(flags), !flags.no_special_tokens);
  }
  if (flags.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : ids) tokens.push_back(tokenizer.token_of(id).value_or(""));
    nlohmann::json out = {{"ids", ids}, {"tokens", tokens}};
    if (flags.chat) out["text"] = rendered;
    print_json(out);
    return;
  }
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i == 0 ? "" : ",") + std::to_string(ids[i]);
  std::printf("%s\n", line.c_str());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  auto* cmd = app.add_subcommand(
      "tokenize",
      "Print the token ids of a text, or the text of token ids, with a model's tokenizer");
  cmd->add_option("--model", flags->model,
                  "Checkpoint directory (tokenizer.json or tokenizer.model)")
      ->required();
  auto* text = cmd->add_option("--text", flags->text, "Text to encode");
  auto* file = cmd->add_option("--file", flags->file, "File whose contents to encode");
  auto* decode = cmd->add_option("--decode", flags->decode, "Comma-separated ids to decode");
  text->excludes(file)->excludes(decode);
  file->excludes(decode);
  cmd->add_flag(
      "--json", flags->json,
      "Print JSON: {\"ids\": [...], \"tokens\": [...]} (or {\"text\": ...} with --decode)");
  cmd->add_flag("--no-special-tokens", flags->no_special_tokens,
                "Do not add the tokens the checkpoint puts around every text (BOS)");
  cmd->add_flag("--chat", flags->chat,
                "Encode the text as the user's message in the checkpoint's chat template (with "
                "--json, also print the rendered text)");
  cmd->add_option("--system", flags->system, "System message in --chat mode");
  cmd->callback([flags, text, file, decode] {
    require(text->count() + file->count() + decode->count() == 1,
            "tokenize: give one of --text TEXT, --file F or --decode IDS");
    require(!flags->chat || decode->count() == 0, "tokenize: --chat encodes; it cannot --decode");
    require(flags->chat || flags->system.empty(),
            "tokenize: --system is the system message of --chat");
    const auto tokenizer = Tokenizer::open(flags->model);
    require(tokenizer != nullptr, "{}: no tokenizer.json or tokenizer.model", flags->model);
    if (decode->count() > 0) {
      print_decoded(*tokenizer, *flags);
    } else {
      print_encoded(*tokenizer, *flags);
    }
  });
}

}  // namespace brigade::cli
