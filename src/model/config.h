#pragma once
// The hyper-parameters of a Llama-family checkpoint, read from the Hugging Face
// `config.json`, and the generation defaults of `generation_config.json`.
// Supported `model_type`s: llama, mistral, qwen2 (qwen2 has q/k/v biases).
//
// Every field of transformers' LlamaConfig, MistralConfig and Qwen2Config is
// either used, ignored because it cannot change what the model computes at
// inference, or refused with an Error naming the field; so is every field of
// PretrainedConfig and GenerationConfig. A field Brigade does not know is
// refused too: it might change the math. The table with the reason for each
// field is in docs/config_fields.md and beside the lists in config.cpp.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/sampler.h"

namespace brigade {

// RoPE frequency scaling (`rope_scaling` in config.json, `rope_parameters` in
// transformers >= 5). Both supported kinds keep the attention factor at 1.
struct RopeScaling {
  // "default" (no scaling), "linear" (inv_freq / factor) or "llama3" (the
  // frequency bands of transformers' _compute_llama3_parameters).
  std::string type = "default";
  double factor = 1.0;                       // linear, llama3; > 0
  double low_freq_factor = 1.0;              // llama3
  double high_freq_factor = 4.0;             // llama3; > low_freq_factor
  int original_max_position_embeddings = 0;  // llama3; > 0

  bool operator==(const RopeScaling&) const = default;
};

struct ModelConfig {
  std::string model_type;  // "llama" | "mistral" | "qwen2"
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;  // GQA; defaults to num_attention_heads
  int head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int vocab_size = 0;
  int max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-6;
  // Tied: the LM head is the embedding matrix, and an lm_head.weight the
  // checkpoint may also ship is not read (transformers re-ties after loading).
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v biases: always for qwen2, never for llama/mistral
  // Attention window of mistral (`sliding_window`) and qwen2
  // (`use_sliding_window`); 0 = none. Brigade does not mask by window: it
  // refuses sequences longer than the window, where the window changes nothing.
  int sliding_window = 0;
  int bos_token_id = 1;
  // Generation ends at any of these (config.json may give one id or a list).
  std::vector<int32_t> eos_token_ids = {2};

  // Parses `dir/config.json`. Throws Error naming the file and the field on a
  // missing file, a missing or ill-typed field, an unsupported model_type,
  // inconsistent sizes (heads not dividing, kv heads not dividing heads), or a
  // field that changes the computation in a way Brigade does not implement.
  static ModelConfig load(const std::filesystem::path& dir);
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin);
  // The fields above in config.json form; from_json(to_json()) is the same config.
  nlohmann::json to_json() const;

  int q_dim() const { return num_attention_heads * head_dim; }
  int kv_dim() const { return num_key_value_heads * head_dim; }
  bool is_eos(int32_t id) const;

  // The longest sequence (prompt + generated tokens, or a server session's
  // cache) this config runs exactly: max_position_embeddings, or the
  // sliding window when that is shorter.
  int max_context() const;
  // Throws Error unless 1 <= length <= max_context(), naming the limiting
  // field (max_position_embeddings or sliding_window); `what` says whose
  // length it is (e.g. "session s1").
  void require_context(int length, const std::string& what) const;
};

// Sampling defaults and special tokens from `generation_config.json`, as
// transformers' generate() would use them; command-line flags override them.
struct GenerationConfig {
  bool do_sample = false;    // false: greedy whatever the other fields say
  float temperature = 1.0f;  // transformers' defaults, used when do_sample
  int top_k = 50;
  float top_p = 1.0f;
  float repetition_penalty = 1.0f;  // applies to greedy decoding too
  // The model config's eos ids followed by generation_config.json's others.
  std::vector<int32_t> eos_token_ids;
  int bos_token_id = 1;  // generation_config.json's, else the model config's

  // Reads `dir/generation_config.json`; when absent, the generation fields of
  // `dir/config.json` (transformers derives the defaults from it the same way),
  // and otherwise the defaults above with the model's eos/bos ids. Throws Error
  // naming the file and field on a field that changes the output and is not
  // implemented (num_beams, min_p, ...), or on an unknown one.
  static GenerationConfig load(const std::filesystem::path& dir, const ModelConfig& model);
  // `only_generation_fields`: read just GenerationConfig's fields of `j`
  // (j is a config.json); otherwise every field must be known.
  static GenerationConfig from_json(const nlohmann::json& j, const ModelConfig& model,
                                    const std::string& origin, bool only_generation_fields);

  // Greedy (temperature 0) unless do_sample.
  SamplingOptions sampling() const;
};

}  // namespace brigade
