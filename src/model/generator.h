#pragma once
// The generation loop, shared by local runs (`brigade run`) and swarm runs
// (`brigade generate`): embed the prompt, run the blocks (through a
// BlockRunner), final norm + LM head, sample, repeat until EOS or the budget.

#include <functional>
#include <string>
#include <vector>

#include "model/model_head.h"
#include "model/sampler.h"
#include "tokenizer/tokenizer.h"

namespace brigade {

// Runs all the decoder blocks of the model over hidden states, wherever they live.
class BlockRunner {
 public:
  virtual ~BlockRunner() = default;
  // In place over [batch, tokens, hidden] at `position` (the session's length
  // so far, or less to roll back).
  virtual void forward(std::vector<float>& hidden, int batch, int tokens, int position) = 0;
};

struct GenerationRequest {
  std::vector<int32_t> prompt_ids;
  int max_new_tokens = 16;
  SamplingOptions sampling;
  // Stop after a token that is one of the model config's eos_token_ids or of
  // stop_ids (e.g. generation_config.json's eos list, a chat's end of turn).
  bool stop_at_eos = true;
  std::vector<int32_t> stop_ids;
  bool keep_first_logits = false;
  bool keep_all_logits = false;  // the logits of every new token
  // Called after each new token with its index (0-based among new tokens),
  // id, the text it added and the ms it took. The text holds only whole
  // UTF-8 characters: one split across tokens comes with the token that
  // completes it (tokenizer/streaming_decoder.h); special tokens add none.
  std::function<void(int index, int32_t id, const std::string& text, double ms)> on_token;
};

struct GenerationResult {
  std::vector<int32_t> ids;  // prompt ids then new ids
  std::vector<int32_t> new_ids;
  std::string text;                            // decoded new ids ("" without a tokenizer)
  std::vector<float> first_logits;             // logits that chose the first new token (if kept)
  std::vector<std::vector<float>> all_logits;  // logits that chose each new token (if kept)
  double prefill_s = 0;
  double per_token_ms = 0;  // mean over decode steps after the first token
};

// REQUIRES: request.prompt_ids non-empty. `tokenizer` may be null.
GenerationResult generate(const ModelHead& head, const Tokenizer* tokenizer, BlockRunner& blocks,
                          const GenerationRequest& request);

}  // namespace brigade
