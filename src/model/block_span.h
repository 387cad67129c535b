#pragma once
// A contiguous span [start, end) of decoder blocks with their weights, and the
// forward pass over it. The math reads top to bottom like the paper: RMSNorm
// -> attention with RoPE and GQA -> residual -> RMSNorm -> SwiGLU MLP ->
// residual. Linear layers compute in the checkpoint's stored format (f32,
// bf16, f16, straight from the memory map) or in int8/int4 quantized at load;
// every kernel is batch invariant (kernels/kernel_table.h), so a prefill of T
// tokens gives bitwise the outputs and cache of T one-token steps.

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/format.h"
#include "kernels/weight_matrix.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace brigade {

// One sequence's part of a batched pass (BlockSpan::forward_batch): `tokens`
// hidden states [tokens, hidden_size] of batch row `row` of `cache`, the
// first at `position`, updated in place.
struct SequenceStep {
  float* hidden = nullptr;
  int tokens = 0;
  int position = 0;
  KvCache* cache = nullptr;
  int row = 0;
};

struct BlockWeights {
  std::vector<float> input_norm;               // [hidden]
  kernels::WeightMatrix wq, wk, wv, wo;        // [out, in] as in HF
  std::vector<float> bq, bk, bv;               // empty unless attention_bias
  std::vector<float> post_norm;                // [hidden]
  kernels::WeightMatrix w_gate, w_up, w_down;  // [inter, hidden], [inter, hidden], [hidden, inter]
};

class BlockSpan {
 public:
  // Loads only the tensors of blocks start..end-1 (`model.layers.{i}.*`),
  // quantized to int8/int4 when `quant` says so (Quant::kNone: as stored).
  // Keeps `checkpoint` alive: unquantized weights are views of its mapping.
  // Throws Error when the span is outside [0, num_hidden_layers) or empty, or
  // a tensor is missing, misshapen or cannot be quantized.
  BlockSpan(const ModelConfig& config, const Checkpoint& checkpoint, int start, int end,
            kernels::Quant quant = kernels::Quant::kNone);

  int start() const { return start_; }
  int end() const { return end_; }
  const ModelConfig& config() const { return config_; }
  size_t weight_bytes() const;
  // The format the linear layers compute in ("bf16", "int4", ...).
  kernels::WeightFormat weight_format() const { return format_; }
  // Which servers agree bitwise with this one: kernel version, numerics
  // family of the CPU path, weight format (DESIGN.md, "Determinism").
  std::string numerics_id() const;

  // A cache sized for this span.
  KvCache make_cache(int batch, int max_length) const;

  // Runs the span in place over hidden states [batch, tokens, hidden_size]
  // whose first token is at `position`. Cache entries at >= position are
  // discarded first (that is how a session rolls back). Thread-safe for
  // distinct caches: the weights are read-only.
  // REQUIRES (checked, throws Error): cache.batch() == batch,
  // position <= cache.length(), position + tokens <= cache.max_length(),
  // hidden.size() == batch * tokens * hidden_size.
  void forward(std::span<float> hidden, int batch, int tokens, int position, KvCache& cache) const;

  // The same over the sub-span [first, last) of this span (absolute block
  // indices), with a cache of last - first layers: a server may be asked for
  // part of what it hosts.
  // REQUIRES (checked): start() <= first < last <= end(),
  // cache.num_layers() == last - first, plus forward()'s requirements.
  void forward_range(int first, int last, std::span<float> hidden, int batch, int tokens,
                     int position, KvCache& cache) const;

  // One pass over the sub-span [first, last) for the steps of many
  // sequences at once, each with its own cache, position and token count
  // (continuous batching): every linear layer reads its weights once for all
  // of them. Each sequence's outputs and cache entries are bitwise what it
  // gets alone, whatever shares the pass (the kernels reduce every output in
  // one order). Steps that share a cache (rows of one batched session) must
  // have the same position and token count.
  // REQUIRES (checked before anything runs, throws Error): start() <= first <
  // last <= end(); for every step a cache of last - first layers, 0 <= row <
  // cache batch, tokens >= 1, position <= cache length, position + tokens <=
  // the cache's max length; no cache row twice.
  void forward_batch(int first, int last, std::span<const SequenceStep> steps) const;
  // forward_batch()'s checks alone, for a caller that runs the steps later
  // in parts and must know first that the whole of them is valid.
  void check_batch(int first, int last, std::span<const SequenceStep> steps) const;
  // The sequences of hidden states [batch, tokens, hidden] at `position`
  // of `cache`, one step per batch row. Throws Error when batch is not the
  // cache's, tokens < 1 or hidden does not hold batch x tokens x hidden.
  std::vector<SequenceStep> rows_of(std::span<float> hidden, int batch, int tokens, int position,
                                    KvCache& cache) const;

 private:
  ModelConfig config_;
  int start_, end_;
  std::shared_ptr<const Checkpoint> checkpoint_;  // owns the mapped weights
  kernels::WeightFormat format_;
  std::vector<BlockWeights> blocks_;
  std::vector<float> rope_inv_freq_;  // [head_dim / 2]
};

}  // namespace brigade
