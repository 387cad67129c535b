#include "model/model_head.h"

#include <algorithm>

#include "kernels/linear.h"
#include "kernels/ops.h"
#include "model/weights.h"
#include "util/error.h"

namespace brigade {

ModelHead::ModelHead(const ModelConfig& config, const Checkpoint& checkpoint, kernels::Quant quant)
    : config_(config), checkpoint_(checkpoint.shared_from_this()) {
  const int64_t vocab = config.vocab_size, hidden = config.hidden_size;
  embeddings_ =
      load_matrix(checkpoint, "model.embed_tokens.weight", vocab, hidden, kernels::Quant::kNone);
  final_norm_ = checkpoint.load("model.norm.weight", {hidden});
  // Tied: the LM head multiplies with the embedding matrix (transformers
  // ignores a stored lm_head.weight then).
  lm_head_ = load_matrix(
      checkpoint, config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight",
      vocab, hidden, quant);
}

void ModelHead::embed(std::span<const int32_t> ids, std::span<float> out) const {
  const size_t hidden = config_.hidden_size;
  require(out.size() == ids.size() * hidden, "embed: output has {} values, expected {} x {}",
          out.size(), ids.size(), hidden);
  for (size_t i = 0; i < ids.size(); ++i) {
    require(ids[i] >= 0 && ids[i] < config_.vocab_size,
            "token id {} at index {} is outside the vocabulary [0, {})", ids[i], i,
            config_.vocab_size);
    embeddings_.row_f32(ids[i], &out[i * hidden]);
  }
}

void ModelHead::logits(std::span<const float> hidden, int rows, std::span<float> logits) const {
  const int dim = config_.hidden_size, vocab = config_.vocab_size;
  require(rows > 0 && hidden.size() == static_cast<size_t>(rows) * dim &&
              logits.size() == static_cast<size_t>(rows) * vocab,
          "logits: {} hidden values and {} logits for {} rows of hidden {} and vocab {}",
          hidden.size(), logits.size(), rows, dim, vocab);
  std::vector<float> normed(hidden.size());
  kernels::rmsnorm(normed.data(), hidden.data(), final_norm_, rows,
                   static_cast<float>(config_.rms_norm_eps));
  kernels::linear(normed.data(), rows, lm_head_, logits.data());
}

}  // namespace brigade
