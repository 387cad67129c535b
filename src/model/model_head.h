#pragma once
// The client-side parts of a model: token embeddings, final RMSNorm and the LM
// head (tied to the embeddings when the checkpoint says so). A client of the
// swarm loads only these; the blocks live on servers.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/format.h"
#include "kernels/weight_matrix.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace brigade {

class ModelHead {
 public:
  // Loads `model.embed_tokens.weight`, `model.norm.weight` and, unless tied,
  // `lm_head.weight`. The embeddings are read as stored (a lookup touches
  // only its rows); the LM head computes as stored or quantized by `quant`.
  // Keeps `checkpoint` alive. Throws Error naming a missing or misshapen tensor.
  ModelHead(const ModelConfig& config, const Checkpoint& checkpoint,
            kernels::Quant quant = kernels::Quant::kNone);

  const ModelConfig& config() const { return config_; }
  kernels::WeightFormat lm_head_format() const { return lm_head_.format(); }

  // Embeddings of `ids` into `out` [ids.size(), hidden]. Throws Error on an
  // id outside [0, vocab_size).
  void embed(std::span<const int32_t> ids, std::span<float> out) const;

  // Final norm + LM head over `rows` hidden vectors [rows, hidden] into
  // `logits` [rows, vocab].
  void logits(std::span<const float> hidden, int rows, std::span<float> logits) const;

 private:
  ModelConfig config_;
  std::shared_ptr<const Checkpoint> checkpoint_;  // owns the mapped weights
  kernels::WeightMatrix embeddings_;              // [vocab, hidden], as stored
  std::vector<float> final_norm_;                 // [hidden]
  kernels::WeightMatrix lm_head_;                 // [vocab, hidden]; the embeddings when tied
};

}  // namespace brigade
