#pragma once
// The client-side parts of a model: token embeddings, final RMSNorm and the LM
// head (tied to the embeddings when the checkpoint says so). A client of the
// swarm loads only these; the blocks live on servers.

#include "model/checkpoint.h"
#include "model/config.h"

#include <cstdint>
#include <span>
#include <vector>

namespace brigade {

class ModelHead {
 public:
  // Loads `model.embed_tokens.weight`, `model.norm.weight` and, unless tied,
  // `lm_head.weight`. Throws Error naming a missing or misshapen tensor.
  ModelHead(const ModelConfig& config, const Checkpoint& checkpoint);

  const ModelConfig& config() const { return config_; }

  // Embeddings of `ids` into `out` [ids.size(), hidden]. Throws Error on an
  // id outside [0, vocab_size).
  void embed(std::span<const int32_t> ids, std::span<float> out) const;

  // Final norm + LM head over `rows` hidden vectors [rows, hidden] into
  // `logits` [rows, vocab].
  void logits(std::span<const float> hidden, int rows, std::span<float> logits) const;

 private:
  ModelConfig config_;
  std::vector<float> embeddings_;  // [vocab, hidden]
  std::vector<float> final_norm_;  // [hidden]
  std::vector<float> lm_head_;     // [vocab, hidden]; empty when tied
};

}  // namespace brigade
