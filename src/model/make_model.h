#pragma once
// Random-weight checkpoints in Hugging Face layout, for tests, demos and
// benchmarks: config.json, safetensors (sharded or not) and a sentencepiece
// tokenizer trained from a small bundled text so that text prompts work.

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/checkpoint.h"

namespace brigade {

struct MakeModelOptions {
  std::string model_type = "llama";  // llama | mistral | qwen2 (qwen2 gets q/k/v biases)
  int layers = 4;
  int hidden = 64;
  int intermediate = 172;
  int heads = 4;
  int kv_heads = 2;
  int head_dim = 0;  // 0 = hidden / heads
  int vocab = 512;   // the tokenizer gets at most min(vocab, 512) pieces; needs vocab >= 64
  int max_position_embeddings = 512;
  DType dtype = DType::F32;
  int shards = 1;
  bool tied = false;
  // config.json's rope_scaling as a JSON object, e.g.
  // {"rope_type": "linear", "factor": 2}; "" = none.
  std::string rope_scaling;
  // Attention window (mistral, or qwen2 with every layer sliding); 0 = none.
  int sliding_window = 0;
  bool tokenizer = true;
  uint64_t seed = 0;
};

// Writes the checkpoint into `out` (created if missing). Weights are drawn
// from a seeded normal distribution scaled so that activations stay O(1)
// through many layers, and norms are near 1, so the outputs are not degenerate.
// Throws Error on inconsistent sizes (checked by the config parser) or, with
// a tokenizer, vocab < 64 (the bundled text has ~60 distinct characters).
void make_model(const MakeModelOptions& options, const std::filesystem::path& out);

}  // namespace brigade
