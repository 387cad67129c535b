#include "model/config.h"

#include <fstream>
#include <map>
#include <optional>

#include "util/error.h"

namespace brigade {
namespace {

// Reads `key` as an int; `fallback` when absent or null (HF writes null for
// unset optional fields).
int int_field(const nlohmann::json& j, const char* key, const std::string& origin,
              std::optional<int> fallback = std::nullopt) {
  if (!j.contains(key) || j[key].is_null()) {
    require(fallback.has_value(), "{}: missing field '{}'", origin, key);
    return *fallback;
  }
  require(j[key].is_number_integer(), "{}: field '{}' must be an integer, got {}", origin, key,
          j[key].dump());
  return j[key].get<int>();
}

double number_field(const nlohmann::json& j, const char* key, const std::string& origin,
                    double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  require(j[key].is_number(), "{}: field '{}' must be a number, got {}", origin, key,
          j[key].dump());
  return j[key].get<double>();
}

bool bool_field(const nlohmann::json& j, const char* key, const std::string& origin,
                bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  require(j[key].is_boolean(), "{}: field '{}' must be a boolean, got {}", origin, key,
          j[key].dump());
  return j[key].get<bool>();
}

// HF allows a list of ids for eos_token_id (e.g. Llama 3); generation stops
// at the first one, which is the conventional end-of-text token.
int token_id_field(const nlohmann::json& j, const char* key, const std::string& origin,
                   int fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const auto& value = j[key];
  if (value.is_array()) {
    require(!value.empty() && value[0].is_number_integer(),
            "{}: field '{}' must be an integer or a non-empty list of integers, got {}", origin,
            key, value.dump());
    return value[0].get<int>();
  }
  require(value.is_number_integer(), "{}: field '{}' must be an integer, got {}", origin, key,
          value.dump());
  return value.get<int>();
}

}  // namespace

ModelConfig ModelConfig::load(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  std::ifstream in(path);
  require(in.good(), "{}: cannot open config (is '{}' a model directory?)", path.string(),
          dir.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path.string(), e.what());
  }
  return from_json(j, path.string());
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& origin) {
  require(j.is_object(), "{}: expected a JSON object", origin);
  ModelConfig c;
  require(j.contains("model_type") && j["model_type"].is_string(),
          "{}: missing or non-string field 'model_type'", origin);
  c.model_type = j["model_type"].get<std::string>();
  require(c.model_type == "llama" || c.model_type == "mistral" || c.model_type == "qwen2",
          "{}: unsupported model_type '{}' (supported: llama, mistral, qwen2)", origin,
          c.model_type);

  c.hidden_size = int_field(j, "hidden_size", origin);
  c.intermediate_size = int_field(j, "intermediate_size", origin);
  c.num_hidden_layers = int_field(j, "num_hidden_layers", origin);
  c.num_attention_heads = int_field(j, "num_attention_heads", origin);
  c.vocab_size = int_field(j, "vocab_size", origin);
  require(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_hidden_layers > 0 &&
              c.num_attention_heads > 0 && c.vocab_size > 0,
          "{}: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads and "
          "vocab_size must be positive",
          origin);
  c.num_key_value_heads = int_field(j, "num_key_value_heads", origin, c.num_attention_heads);
  require(c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0,
          "{}: num_key_value_heads ({}) must divide num_attention_heads ({})", origin,
          c.num_key_value_heads, c.num_attention_heads);
  if (!j.contains("head_dim") || j["head_dim"].is_null()) {
    require(c.hidden_size % c.num_attention_heads == 0,
            "{}: num_attention_heads ({}) must divide hidden_size ({}) when head_dim is absent",
            origin, c.num_attention_heads, c.hidden_size);
  }
  c.head_dim = int_field(j, "head_dim", origin, c.hidden_size / c.num_attention_heads);
  require(c.head_dim > 0 && c.head_dim % 2 == 0,
          "{}: field 'head_dim' must be positive and even (RoPE rotates pairs), got {}", origin,
          c.head_dim);
  c.max_position_embeddings = int_field(j, "max_position_embeddings", origin, 2048);
  require(c.max_position_embeddings > 0, "{}: field 'max_position_embeddings' must be positive",
          origin);
  c.rope_theta = number_field(j, "rope_theta", origin, 10000.0);
  c.rms_norm_eps = number_field(j, "rms_norm_eps", origin, 1e-6);
  require(c.rope_theta > 0 && c.rms_norm_eps > 0,
          "{}: fields 'rope_theta' and 'rms_norm_eps' must be positive", origin);
  c.tie_word_embeddings = bool_field(j, "tie_word_embeddings", origin, false);
  // Qwen2 always has q/k/v biases and its config does not say so.
  c.attention_bias = bool_field(j, "attention_bias", origin, c.model_type == "qwen2");
  c.bos_token_id = token_id_field(j, "bos_token_id", origin, 1);
  c.eos_token_id = token_id_field(j, "eos_token_id", origin, 2);
  return c;
}

nlohmann::json ModelConfig::to_json() const {
  static const std::map<std::string, std::string> architectures = {
      {"llama", "LlamaForCausalLM"},
      {"mistral", "MistralForCausalLM"},
      {"qwen2", "Qwen2ForCausalLM"}};
  const auto arch = architectures.find(model_type);
  nlohmann::json j;
  j["architectures"] = {arch == architectures.end() ? model_type : arch->second};
  j["model_type"] = model_type;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["vocab_size"] = vocab_size;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rope_theta"] = rope_theta;
  j["rms_norm_eps"] = rms_norm_eps;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["attention_bias"] = attention_bias;
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["hidden_act"] = "silu";
  return j;
}

}  // namespace brigade
