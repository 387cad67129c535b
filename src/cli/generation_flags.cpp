#include "cli/generation_flags.h"

#include <charconv>
#include <cstdio>
#include <random>

#include "cli/chat_prompt.h"
#include "util/error.h"

namespace brigade::cli {

void add_generation_flags(CLI::App* command, GenerationFlags& flags) {
  auto* prompt = command->add_option("--prompt", flags.prompt,
                                     "Prompt text (needs tokenizer.json or tokenizer.model)");
  auto* ids = command->add_option("--prompt-ids", flags.prompt_ids,
                                  "Prompt as comma-separated token ids, e.g. 1,2,3 (no BOS added)");
  prompt->excludes(ids);
  command->add_option("--max-new-tokens", flags.max_new_tokens, "Tokens to generate")
      ->capture_default_str();
  // Unset sampling flags take generation_config.json's values (greedy when
  // it does not sample, or when there is none).
  command->add_option("--temperature", flags.temperature,
                      "0 = greedy (default: the checkpoint's generation_config.json, else 0)");
  command->add_option("--top-k", flags.top_k,
                      "Keep the k most likely tokens, 0 = all (default: generation_config.json)");
  command->add_option("--top-p", flags.top_p,
                      "Nucleus sampling mass, 1 = off (default: generation_config.json)");
  command->add_option("--repetition-penalty", flags.repetition_penalty,
                      "Divide the logits of ids already in the sequence by this, 1 = off "
                      "(default: generation_config.json)");
  command->add_option("--seed", flags.seed,
                      "Sampling seed (default: a random one, printed in the --json output)");
  command->add_flag("--chat", flags.chat,
                    "Treat --prompt as the user's message and format it with the checkpoint's "
                    "chat template; stop at its end-of-turn tokens");
  command->add_option("--system", flags.system, "System message in --chat mode");
  command->add_flag("--json", flags.json, "Print one JSON object instead of streaming text");
  command
      ->add_option("--dump-logits", flags.dump_logits,
                   "With --json, add the logits that chose the first new token, or with 'all' "
                   "those of every new token (to check prefill/decode invariance from outside)")
      ->expected(0, 1)
      ->default_str("first")
      ->check(CLI::IsMember({"first", "all"}));
}

std::vector<int32_t> parse_ids(const std::string& text, int vocab_size, const std::string& flag) {
  std::vector<int32_t> ids;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(begin, end - begin);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    int32_t id = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    require(!item.empty() && ec == std::errc() && ptr == item.data() + item.size(),
            "{}: '{}' is not a token id (expected comma-separated integers)", flag, item);
    require(id >= 0 && id < vocab_size, "{}: id {} is outside the vocabulary [0, {})", flag, id,
            vocab_size);
    ids.push_back(id);
    begin = end + 1;
  }
  return ids;
}

GenerationRequest make_request(const GenerationFlags& flags, const std::filesystem::path& model_dir,
                               const ModelConfig& config, const GenerationConfig& defaults,
                               const Tokenizer* tokenizer) {
  GenerationRequest request;
  require(!flags.chat || flags.prompt_ids.empty(),
          "--chat takes the user's message as --prompt TEXT, not --prompt-ids");
  require(flags.chat || flags.system.empty(), "--system is the system message of --chat");
  std::vector<int32_t> chat_stop_ids;
  if (flags.chat) {
    require(!flags.prompt.empty(), "--chat needs the user's message as --prompt TEXT");
    require(tokenizer != nullptr, "--chat needs the model's tokenizer (tokenizer.json)");
    auto chat = make_chat_prompt(model_dir, *tokenizer, flags.system, flags.prompt);
    request.prompt_ids = std::move(chat.ids);
    chat_stop_ids = std::move(chat.stop_ids);
  } else if (!flags.prompt_ids.empty()) {
    request.prompt_ids = parse_ids(flags.prompt_ids, config.vocab_size, "--prompt-ids");
  } else {
    require(!flags.prompt.empty(), "give a prompt with --prompt TEXT or --prompt-ids 1,2,3");
    require(tokenizer != nullptr,
            "the model has no tokenizer.json or tokenizer.model, so --prompt cannot be used; give "
            "--prompt-ids");
    // BOS (or none) as the checkpoint's tokenizer frames every text.
    request.prompt_ids = tokenizer->encode(flags.prompt, /*add_special_tokens=*/true);
  }
  require(flags.max_new_tokens >= 0, "--max-new-tokens must be >= 0, got {}", flags.max_new_tokens);
  request.max_new_tokens = flags.max_new_tokens;
  request.sampling = defaults.sampling();
  request.sampling.temperature = flags.temperature.value_or(request.sampling.temperature);
  request.sampling.top_k = flags.top_k.value_or(request.sampling.top_k);
  request.sampling.top_p = flags.top_p.value_or(request.sampling.top_p);
  request.sampling.repetition_penalty =
      flags.repetition_penalty.value_or(request.sampling.repetition_penalty);
  if (flags.seed) {
    request.sampling.seed = *flags.seed;
  } else {
    std::random_device random;
    request.sampling.seed = (uint64_t{random()} << 32) | random();
  }
  request.stop_ids = defaults.eos_token_ids;
  request.stop_ids.insert(request.stop_ids.end(), chat_stop_ids.begin(), chat_stop_ids.end());
  request.keep_first_logits = !flags.dump_logits.empty();
  request.keep_all_logits = flags.dump_logits == "all";
  if (!flags.json) {
    request.on_token = [](int, int32_t, const std::string& text, double) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  return request;
}

nlohmann::json result_json(const GenerationResult& result, const GenerationRequest& request,
                           double load_s, const GenerationFlags& flags) {
  nlohmann::json j;
  j["ids"] = result.ids;
  j["new_ids"] = result.new_ids;
  j["text"] = result.text;
  j["seed"] = request.sampling.seed;
  j["timings"] = {
      {"load_s", load_s}, {"prefill_s", result.prefill_s}, {"per_token_ms", result.per_token_ms}};
  if (!flags.dump_logits.empty()) j["logits"] = result.first_logits;
  if (flags.dump_logits == "all") j["all_logits"] = result.all_logits;
  return j;
}

}  // namespace brigade::cli
