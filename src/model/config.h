#pragma once
// The hyper-parameters of a Llama-family checkpoint, read from the Hugging Face
// `config.json`. Supported `model_type`s: llama, mistral, qwen2 (qwen2 has
// q/k/v biases). Anything else is rejected with a message naming the file.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace brigade {

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
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // true for qwen2 (q/k/v only) or when config says so
  int bos_token_id = 1;
  int eos_token_id = 2;

  // Parses `dir/config.json`. Throws Error naming the file and the field on a
  // missing file, a missing or ill-typed field, an unsupported model_type or
  // inconsistent sizes (heads not dividing, kv heads not dividing heads).
  static ModelConfig load(const std::filesystem::path& dir);
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;

  int q_dim() const { return num_attention_heads * head_dim; }
  int kv_dim() const { return num_key_value_heads * head_dim; }
};

}  // namespace brigade
