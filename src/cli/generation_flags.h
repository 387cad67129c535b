#pragma once
// Flags and output shared by `brigade run` (local) and `brigade generate`
// (swarm), so that both take the same prompt and sampling flags and print the
// same JSON object.

#include "model/config.h"
#include "model/generator.h"
#include "model/tokenizer.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace brigade::cli {

struct GenerationFlags {
  std::string prompt;
  std::string prompt_ids;  // "1,2,3"
  int max_new_tokens = 16;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  bool json = false;
  bool dump_logits = false;
};

// Adds --prompt | --prompt-ids, --max-new-tokens, --temperature, --top-k,
// --top-p, --seed, --json, --dump-logits.
void add_generation_flags(CLI::App* command, GenerationFlags& flags);

// Builds the request: tokenizes --prompt (Error when the model has no
// tokenizer) or parses --prompt-ids (Error naming a bad or out-of-vocab id).
// Unless flags.json, on_token streams decoded text to stdout as it is produced.
GenerationRequest make_request(const GenerationFlags& flags, const ModelConfig& config,
                               const Tokenizer* tokenizer);

// {"ids", "new_ids", "text", "timings": {"load_s", "prefill_s", "per_token_ms"}}
// plus "logits" when flags.dump_logits.
nlohmann::json result_json(const GenerationResult& result, double load_s,
                           const GenerationFlags& flags);

}  // namespace brigade::cli
