#include "model/generator.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "tokenizer/streaming_decoder.h"
#include "util/error.h"

namespace brigade {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

GenerationResult generate(const ModelHead& head, const Tokenizer* tokenizer, BlockRunner& blocks,
                          const GenerationRequest& request) {
  const ModelConfig& config = head.config();
  const int dim = config.hidden_size, vocab = config.vocab_size;
  require(!request.prompt_ids.empty(), "generate: the prompt has no tokens");
  require(request.max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got {}",
          request.max_new_tokens);

  GenerationResult result;
  result.ids = request.prompt_ids;
  if (request.max_new_tokens == 0) return result;

  Sampler sampler(request.sampling);
  std::vector<float> logits(vocab);
  // Text for on_token; it holds back a character whose bytes are split
  // between tokens until the token that completes it.
  std::optional<StreamingDecoder> stream;
  if (tokenizer != nullptr) stream.emplace(*tokenizer);

  // Appends `id`, reports it, and says whether generation goes on.
  auto accept = [&](int32_t id, double ms) {
    result.ids.push_back(id);
    result.new_ids.push_back(id);
    std::string piece;
    if (stream) {
      piece = stream->push(id);
      // The budget's last token shows what is held back (as U+FFFD).
      if (static_cast<int>(result.new_ids.size()) == request.max_new_tokens)
        piece += stream->finish();
    }
    if (request.on_token)
      request.on_token(static_cast<int>(result.new_ids.size()) - 1, id, piece, ms);
    const bool eos =
        request.stop_at_eos &&
        (config.is_eos(id) || std::ranges::find(request.stop_ids, id) != request.stop_ids.end());
    return !eos && static_cast<int>(result.new_ids.size()) < request.max_new_tokens;
  };

  // Prefill: the whole prompt in one step, then the first token.
  const auto start = std::chrono::steady_clock::now();
  const int n = static_cast<int>(request.prompt_ids.size());
  std::vector<float> hidden(static_cast<size_t>(n) * dim);
  head.embed(request.prompt_ids, hidden);
  blocks.forward(hidden, 1, n, 0);
  head.logits(std::span<const float>(hidden).subspan(static_cast<size_t>(n - 1) * dim, dim), 1,
              logits);
  if (request.keep_first_logits) result.first_logits = logits;
  if (request.keep_all_logits) result.all_logits.push_back(logits);
  int32_t id = sampler.sample(logits, result.ids);
  result.prefill_s = ms_since(start) / 1000.0;
  bool more = accept(id, result.prefill_s * 1000.0);

  // Decode: one token at a time at the current length.
  double decode_ms = 0;
  int steps = 0;
  hidden.resize(dim);
  while (more) {
    const auto step_start = std::chrono::steady_clock::now();
    const int position = static_cast<int>(result.ids.size()) - 1;
    head.embed(std::span<const int32_t>(&id, 1), hidden);
    blocks.forward(hidden, 1, 1, position);
    head.logits(hidden, 1, logits);
    if (request.keep_all_logits) result.all_logits.push_back(logits);
    id = sampler.sample(logits, result.ids);
    const double ms = ms_since(step_start);
    decode_ms += ms;
    ++steps;
    more = accept(id, ms);
  }
  result.per_token_ms = steps > 0 ? decode_ms / steps : 0.0;
  if (stream) {
    stream->finish();
    result.text = stream->text();
  }
  return result;
}

}  // namespace brigade
