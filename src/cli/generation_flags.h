#pragma once
// Flags and output shared by `brigade run` (local) and `brigade generate`
// (swarm), so that both take the same prompt and sampling flags and print the
// same JSON object.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/config.h"
#include "model/generator.h"
#include "tokenizer/tokenizer.h"

namespace brigade::cli {

struct GenerationFlags {
  std::string prompt;
  std::string prompt_ids;  // "1,2,3"
  int max_new_tokens = 16;
  // Unset: the checkpoint's generation defaults (GenerationConfig).
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  std::optional<float> repetition_penalty;
  // Unset: a random seed, drawn per run (as llama.cpp and transformers do)
  // and reported in the --json output, so that a run can be repeated.
  std::optional<uint64_t> seed;
  bool json = false;
  std::string dump_logits;
  bool chat = false;   // --chat: --prompt is the user's message in the chat template
  std::string system;  // --system: the system message in chat mode  // "" | "first" | "all"
};

// Adds --prompt | --prompt-ids, --max-new-tokens, --temperature, --top-k,
// --top-p, --seed, --json, --dump-logits.
void add_generation_flags(CLI::App* command, GenerationFlags& flags);

// Parses "1,2,3" into ids; Error naming `flag` for an item that is not an
// integer or lies outside [0, vocab_size).
std::vector<int32_t> parse_ids(const std::string& text, int vocab_size, const std::string& flag);

// Builds the request: tokenizes --prompt (Error when the model has no
// tokenizer) or parses --prompt-ids (Error naming a bad or out-of-vocab id).
// Sampling starts from `defaults` (the checkpoint's generation_config.json)
// and each sampling flag given overrides its field; generation also stops at
// the defaults' eos ids. Unless flags.json, on_token streams decoded text to
// stdout as it is produced.
// With --chat, the prompt is the conversation [--system, --prompt] in the
// checkpoint's chat template, and generation also stops at its end-of-turn
// tokens.
GenerationRequest make_request(const GenerationFlags& flags, const std::filesystem::path& model_dir,
                               const ModelConfig& config, const GenerationConfig& defaults,
                               const Tokenizer* tokenizer);

// {"ids", "new_ids", "text", "seed", "timings": {"load_s", "prefill_s", "per_token_ms"}}
// plus "logits" (the first new token's) with --dump-logits, and "all_logits"
// (one list per new token) with --dump-logits all.
nlohmann::json result_json(const GenerationResult& result, const GenerationRequest& request,
                           double load_s, const GenerationFlags& flags);

}  // namespace brigade::cli
