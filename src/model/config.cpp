#include "model/config.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "util/error.h"

namespace brigade {
namespace {

// ---- config.json fields ------------------------------------------------------
//
// Fields read by from_json (used): model_type, hidden_size, intermediate_size,
// num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim,
// vocab_size, max_position_embeddings, rope_theta, rope_scaling,
// rope_parameters, rms_norm_eps, tie_word_embeddings, attention_bias,
// sliding_window, use_sliding_window, max_window_layers, layer_types,
// bos_token_id, eos_token_id; and, checked to hold the one value Brigade
// implements: hidden_act, hidden_activation, mlp_bias, partial_rotary_factor,
// pruned_heads, auto_map.
//
// Fields that cannot change what the model computes at inference, ignored:
//   architectures            model_type picks the class, in transformers too
//   torch_dtype, dtype       the dtype transformers *may* load into; Brigade
//                            widens the stored weights exactly to f32 and
//                            computes in f32, i.e. transformers' default load
//   pretraining_tp           >1 makes transformers split each projection into
//                            slices and sum them: the same product, another
//                            summation order
//   attention_dropout        dropout is off at inference
//   initializer_range        initialisation of untrained weights only
//   use_cache                whether transformers keeps a KV cache
//   pad_token_id, sep_token_id, decoder_start_token_id
//                            padding and encoder-decoder ids; no effect on a
//                            causal LM's logits
//   _name_or_path, _commit_hash, transformers_version, _attn_implementation*,
//   attn_implementation      provenance and kernel choice (same math)
//   return_dict, use_return_dict, output_attentions, output_hidden_states,
//   torchscript, tf_legacy_loss, use_bfloat16, gradient_checkpointing
//                            what transformers returns / how it trains
//   chunk_size_feed_forward  Llama-family MLPs are never chunked
//   is_encoder_decoder, is_decoder, add_cross_attention,
//   cross_attention_hidden_size, tie_encoder_decoder
//                            encoder-decoder wiring; *ForCausalLM ignores it
//   finetuning_task, id2label, label2id, num_labels, problem_type,
//   tokenizer_class, prefix, task_specific_params
//                            labels for classification heads and pipelines
//   GenerationConfig's fields (temperature, top_k, ...: see below)
//                            generation defaults, read by GenerationConfig
//                            when there is no generation_config.json
const std::set<std::string_view> kNeutralFields = {"architectures",
                                                   "torch_dtype",
                                                   "dtype",
                                                   "pretraining_tp",
                                                   "attention_dropout",
                                                   "initializer_range",
                                                   "use_cache",
                                                   "pad_token_id",
                                                   "sep_token_id",
                                                   "decoder_start_token_id",
                                                   "_name_or_path",
                                                   "_commit_hash",
                                                   "transformers_version",
                                                   "_attn_implementation",
                                                   "_attn_implementation_internal",
                                                   "_attn_implementation_autoset",
                                                   "attn_implementation",
                                                   "return_dict",
                                                   "use_return_dict",
                                                   "output_attentions",
                                                   "output_hidden_states",
                                                   "torchscript",
                                                   "tf_legacy_loss",
                                                   "use_bfloat16",
                                                   "gradient_checkpointing",
                                                   "chunk_size_feed_forward",
                                                   "is_encoder_decoder",
                                                   "is_decoder",
                                                   "add_cross_attention",
                                                   "cross_attention_hidden_size",
                                                   "tie_encoder_decoder",
                                                   "finetuning_task",
                                                   "id2label",
                                                   "label2id",
                                                   "num_labels",
                                                   "problem_type",
                                                   "tokenizer_class",
                                                   "prefix",
                                                   "task_specific_params"};

// Fields of other architectures that change the computation; refused whenever
// they are set (not null, not false, not empty), with the reason.
const std::map<std::string_view, std::string_view> kRefusedFields = {
    {"use_qk_norm", "q/k normalisation is not implemented"},
    {"qk_norm", "q/k normalisation is not implemented"},
    {"attn_logit_softcapping", "attention logit soft-capping is not implemented"},
    {"final_logit_softcapping", "final logit soft-capping is not implemented"},
    {"quantization_config", "quantized checkpoints are not supported"},
    {"num_experts", "mixture-of-experts models are not supported"},
    {"num_local_experts", "mixture-of-experts models are not supported"},
    {"num_experts_per_tok", "mixture-of-experts models are not supported"},
    {"moe_intermediate_size", "mixture-of-experts models are not supported"},
    {"shared_expert_intermediate_size", "mixture-of-experts models are not supported"},
    {"decoder_sparse_step", "mixture-of-experts models are not supported"},
    {"mlp_only_layers", "mixture-of-experts models are not supported"},
    {"norm_topk_prob", "mixture-of-experts models are not supported"},
    {"router_aux_loss_coef", "mixture-of-experts models are not supported"},
    {"output_router_logits", "mixture-of-experts models are not supported"},
    {"router_jitter_noise", "mixture-of-experts models are not supported"}};

// ---- generation fields -------------------------------------------------------
//
// Used: do_sample, temperature, top_k, top_p, eos_token_id, bos_token_id.
// Ignored:
//   max_length, max_new_tokens  a length budget; --max-new-tokens decides
//   pad_token_id                padding of batched prompts
//   length_penalty, early_stopping   beam search only (num_beams must be 1)
//   renormalize_logits          renormalises after the warpers: the same
//                               distribution for temperature/top-k/top-p
//   remove_invalid_values       only replaces nan/inf logits
//   use_cache, cache_*, return_legacy_cache, prefill_chunk_size, low_memory,
//   disable_compile, compile_config     how transformers computes, not what
//   output_*, return_dict_in_generate   what generate() returns
//   assistant/prompt-lookup fields      speculative decoding, same output
//   _from_model_config, transformers_version    provenance
const std::set<std::string_view> kNeutralGenerationFields = {"max_length",
                                                             "max_new_tokens",
                                                             "pad_token_id",
                                                             "length_penalty",
                                                             "early_stopping",
                                                             "renormalize_logits",
                                                             "remove_invalid_values",
                                                             "use_cache",
                                                             "cache_implementation",
                                                             "cache_config",
                                                             "return_legacy_cache",
                                                             "prefill_chunk_size",
                                                             "low_memory",
                                                             "disable_compile",
                                                             "compile_config",
                                                             "output_attentions",
                                                             "output_hidden_states",
                                                             "output_scores",
                                                             "output_logits",
                                                             "return_dict_in_generate",
                                                             "is_assistant",
                                                             "num_assistant_tokens",
                                                             "num_assistant_tokens_schedule",
                                                             "assistant_confidence_threshold",
                                                             "assistant_lookbehind",
                                                             "target_lookbehind",
                                                             "assistant_early_exit",
                                                             "prompt_lookup_num_tokens",
                                                             "max_matching_ngram_size",
                                                             "_from_model_config",
                                                             "transformers_version",
                                                             "decoder_start_token_id"};

// Generation fields that change the output, refused unless they hold the
// value that does nothing (null, or an empty list, also does nothing).
const std::map<std::string_view, nlohmann::json> kGenerationFieldDefaults = {
    {"num_beams", 1},
    {"num_beam_groups", 1},
    {"num_return_sequences", 1},
    {"encoder_repetition_penalty", 1.0},
    {"no_repeat_ngram_size", 0},
    {"encoder_no_repeat_ngram_size", 0},
    {"typical_p", 1.0},
    {"epsilon_cutoff", 0.0},
    {"eta_cutoff", 0.0},
    {"diversity_penalty", 0.0},
    {"guidance_scale", 1.0},
    {"min_length", 0},
    {"min_new_tokens", nullptr},
    {"min_p", nullptr},
    {"top_h", nullptr},
    {"penalty_alpha", nullptr},
    {"dola_layers", nullptr},
    {"bad_words_ids", nullptr},
    {"force_words_ids", nullptr},
    {"constraints", nullptr},
    {"forced_bos_token_id", nullptr},
    {"forced_eos_token_id", nullptr},
    {"forced_decoder_ids", nullptr},
    {"suppress_tokens", nullptr},
    {"begin_suppress_tokens", nullptr},
    {"sequence_bias", nullptr},
    {"exponential_decay_length_penalty", nullptr},
    {"watermarking_config", nullptr},
    {"stop_strings", nullptr},
    {"max_time", nullptr},
    {"token_healing", false},
    {"generation_kwargs", nullptr}};

const std::set<std::string_view> kUsedGenerationFields = {
    "do_sample",          "temperature",  "top_k",       "top_p",
    "repetition_penalty", "eos_token_id", "bos_token_id"};

bool is_generation_field(const std::string& key) {
  return kUsedGenerationFields.contains(key) || kNeutralGenerationFields.contains(key) ||
         kGenerationFieldDefaults.contains(key);
}

// True when `value` does nothing: null, false, an empty list or object.
bool is_unset(const nlohmann::json& value) {
  return value.is_null() || (value.is_boolean() && !value.get<bool>()) ||
         ((value.is_array() || value.is_object()) && value.empty());
}

// ---- typed field access --------------------------------------------------------

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

// An id or a list of ids (HF allows both for eos_token_id); empty when absent.
std::vector<int32_t> token_ids_field(const nlohmann::json& j, const char* key,
                                     const std::string& origin) {
  std::vector<int32_t> ids;
  if (!j.contains(key) || j[key].is_null()) return ids;
  const auto& value = j[key];
  const bool list = value.is_array();
  require(list ? !value.empty() : value.is_number_integer(),
          "{}: field '{}' must be an integer or a non-empty list of integers, got {}", origin, key,
          value.dump());
  for (const auto& id : list ? value : nlohmann::json::array({value})) {
    require(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() <= INT32_MAX,
            "{}: field '{}' must hold non-negative integer token ids, got {}", origin, key,
            value.dump());
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

// ---- rope_scaling / rope_parameters ----------------------------------------------

// Parses a `rope_scaling` (or transformers 5 `rope_parameters`, which also
// holds rope_theta) object. `field` names it in errors. Sets *theta when the
// object carries rope_theta.
RopeScaling parse_rope(const nlohmann::json& r, const std::string& field, const std::string& origin,
                       double* theta) {
  RopeScaling s;
  if (r.is_null()) return s;
  require(r.is_object(), "{}: field '{}' must be an object or null, got {}", origin, field,
          r.dump());
  auto string_key = [&](const char* key) -> std::optional<std::string> {
    if (!r.contains(key) || r[key].is_null()) return std::nullopt;
    require(r[key].is_string(), "{}: field '{}.{}' must be a string, got {}", origin, field, key,
            r[key].dump());
    return r[key].get<std::string>();
  };
  // transformers reads `rope_type` and falls back on the legacy `type`.
  const auto rope_type = string_key("rope_type"), legacy_type = string_key("type");
  require(!rope_type || !legacy_type || *rope_type == *legacy_type,
          "{}: field '{}' has rope_type '{}' and type '{}'", origin, field, rope_type.value_or(""),
          legacy_type.value_or(""));
  require(rope_type || legacy_type, "{}: field '{}' has no 'rope_type' (or 'type')", origin, field);
  s.type = rope_type ? *rope_type : *legacy_type;

  std::set<std::string> allowed = {"rope_type", "type"};
  if (theta != nullptr && r.contains("rope_theta")) {
    allowed.insert("rope_theta");
    *theta = number_field(r, "rope_theta", origin, *theta);
  }
  if (s.type == "default") {
  } else if (s.type == "linear") {
    allowed.insert("factor");
    s.factor = number_field(r, "factor", origin, 0.0);
    require(s.factor > 0, "{}: field '{}.factor' must be a positive number, got {}", origin, field,
            r.value("factor", nlohmann::json()).dump());
  } else if (s.type == "llama3") {
    allowed.insert(
        {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"});
    for (const char* key :
         {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      require(r.contains(key) && r[key].is_number(),
              "{}: field '{}.{}' is required for rope_type 'llama3' and must be a number", origin,
              field, key);
    s.factor = r["factor"].get<double>();
    s.low_freq_factor = r["low_freq_factor"].get<double>();
    s.high_freq_factor = r["high_freq_factor"].get<double>();
    s.original_max_position_embeddings = int_field(r, "original_max_position_embeddings", origin);
    require(s.factor > 0 && s.low_freq_factor > 0 && s.original_max_position_embeddings > 0,
            "{}: fields '{}.factor', '.low_freq_factor' and '.original_max_position_embeddings' "
            "must be positive",
            origin, field);
    require(s.high_freq_factor > s.low_freq_factor,
            "{}: field '{}.high_freq_factor' ({}) must exceed low_freq_factor ({})", origin, field,
            s.high_freq_factor, s.low_freq_factor);
  } else if (s.type == "dynamic" || s.type == "yarn" || s.type == "longrope" || s.type == "su" ||
             s.type == "mrope") {
    fail(
        "{}: field '{}' has rope type '{}', which Brigade does not implement (supported: "
        "default, linear, llama3)",
        origin, field, s.type);
  } else {
    fail("{}: field '{}' has unknown rope type '{}' (supported: default, linear, llama3)", origin,
         field, s.type);
  }
  for (const auto& [key, value] : r.items()) {
    if (key == "partial_rotary_factor") {
      require(value.is_number() && value.get<double>() == 1.0,
              "{}: field '{}.partial_rotary_factor' is {}; only 1 (rotate the whole head) is "
              "implemented",
              origin, field, value.dump());
      continue;
    }
    require(allowed.contains(key),
            "{}: field '{}.{}' is not supported for rope type '{}' (it changes the rotary "
            "embedding; e.g. mrope_section is multimodal RoPE)",
            origin, field, key, s.type);
  }
  return s;
}

// ---- sliding window ------------------------------------------------------------

// Mistral slides every layer over `sliding_window`. Qwen2 slides only with
// `use_sliding_window`, and then only the layers that `layer_types` marks
// "sliding_attention" or, without it, the layers from `max_window_layers` on.
int parse_sliding_window(const nlohmann::json& j, const ModelConfig& c, const std::string& origin) {
  const int window = int_field(j, "sliding_window", origin, 0);
  require(window >= 0, "{}: field 'sliding_window' must be positive or null, got {}", origin,
          window);
  if (c.model_type == "mistral") return window;
  const bool use = bool_field(j, "use_sliding_window", origin, false);
  bool any_layer_slides = false;
  if (j.contains("layer_types") && !j["layer_types"].is_null()) {
    const auto& types = j["layer_types"];
    require(types.is_array() && static_cast<int>(types.size()) == c.num_hidden_layers,
            "{}: field 'layer_types' must list one type for each of the {} layers", origin,
            c.num_hidden_layers);
    for (const auto& t : types) {
      require(t == "full_attention" || t == "sliding_attention",
              "{}: field 'layer_types' holds {}; supported: full_attention, sliding_attention",
              origin, t.dump());
      any_layer_slides = any_layer_slides || t == "sliding_attention";
    }
  } else {
    // transformers' Qwen2Config default for max_window_layers is 28.
    any_layer_slides = int_field(j, "max_window_layers", origin, 28) < c.num_hidden_layers;
  }
  if (!use || !any_layer_slides) return 0;
  require(window > 0, "{}: field 'use_sliding_window' is true but 'sliding_window' is not set",
          origin);
  return window;
}

// Fields that only some model types define.
const std::map<std::string_view, std::set<std::string_view>> kModelTypeFields = {
    {"llama", {}},
    {"mistral", {"sliding_window"}},
    {"qwen2", {"sliding_window", "use_sliding_window", "max_window_layers", "layer_types"}}};

// Refuses every field that is neither used, nor neutral, nor a generation
// default; and every refused field that is set.
void check_known_fields(const nlohmann::json& j, const std::string& model_type,
                        const std::string& origin) {
  static const std::set<std::string_view> used = {"model_type",
                                                  "hidden_size",
                                                  "intermediate_size",
                                                  "num_hidden_layers",
                                                  "num_attention_heads",
                                                  "num_key_value_heads",
                                                  "head_dim",
                                                  "vocab_size",
                                                  "max_position_embeddings",
                                                  "rope_theta",
                                                  "rope_scaling",
                                                  "rope_parameters",
                                                  "rms_norm_eps",
                                                  "tie_word_embeddings",
                                                  "attention_bias",
                                                  "bos_token_id",
                                                  "eos_token_id",
                                                  "hidden_act",
                                                  "hidden_activation",
                                                  "mlp_bias",
                                                  "partial_rotary_factor",
                                                  "pruned_heads",
                                                  "auto_map"};
  const auto& typed = kModelTypeFields.at(model_type);
  for (const auto& [key, value] : j.items()) {
    if (const auto refused = kRefusedFields.find(key); refused != kRefusedFields.end()) {
      require(is_unset(value), "{}: field '{}' is {}: {}", origin, key, value.dump(),
              refused->second);
      continue;
    }
    if (used.contains(key) || typed.contains(key) || kNeutralFields.contains(key) ||
        is_generation_field(key))
      continue;
    fail(
        "{}: field '{}' is not a field of transformers' {} config that Brigade knows; it may "
        "change what the model computes, so the checkpoint is refused (see "
        "docs/config_fields.md)",
        origin, key, model_type);
  }
}

// The activation, biases and rotary fraction Brigade implements.
void check_math_fields(const nlohmann::json& j, const ModelConfig& c, const std::string& origin) {
  for (const char* key : {"hidden_act", "hidden_activation"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    require(j[key] == "silu",
            "{}: field '{}' is {}; only silu (the SwiGLU MLP of Llama) is implemented", origin, key,
            j[key].dump());
  }
  require(!bool_field(j, "mlp_bias", origin, false),
          "{}: field 'mlp_bias' is true; MLP biases are not implemented", origin);
  const double partial = number_field(j, "partial_rotary_factor", origin, 1.0);
  require(partial == 1.0,
          "{}: field 'partial_rotary_factor' is {}; only 1 (rotate the whole head) is "
          "implemented",
          origin, partial);
  if (j.contains("pruned_heads"))
    require(is_unset(j["pruned_heads"]),
            "{}: field 'pruned_heads' is {}; pruned attention heads are not supported", origin,
            j["pruned_heads"].dump());
  // Remote code replaces transformers' model class with the author's own.
  if (j.contains("auto_map") && j["auto_map"].is_object())
    for (const char* key : {"AutoModel", "AutoModelForCausalLM"})
      require(!j["auto_map"].contains(key),
              "{}: field 'auto_map' maps {} to remote code, which may compute something else "
              "than transformers' {} model",
              origin, key, c.model_type);
  // transformers gives Qwen2 q/k/v biases and Mistral none, whatever
  // attention_bias says; Llama's attention_bias also adds an o_proj bias,
  // which the blocks do not implement.
  if (j.contains("attention_bias") && !j["attention_bias"].is_null()) {
    const bool bias = bool_field(j, "attention_bias", origin, false);
    require(bias == (c.model_type == "qwen2"),
            "{}: field 'attention_bias' is {} for model_type '{}': {}", origin, bias, c.model_type,
            c.model_type == "qwen2"     ? "Qwen2 always has q/k/v biases"
            : c.model_type == "mistral" ? "transformers' Mistral has no attention biases"
                                        : "Llama's attention_bias also biases o_proj, which "
                                          "is not implemented");
  }
}

}  // namespace

// ---- ModelConfig ---------------------------------------------------------------

namespace {

// The JSON of `dir`/`name`; `name` is config.json or generation_config.json.
nlohmann::json read_json(const std::filesystem::path& dir, const char* name) {
  const auto path = dir / name;
  std::ifstream in(path);
  require(in.good(), "{}: cannot open {} (is '{}' a model directory?)", path.string(), name,
          dir.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path.string(), e.what());
  }
}

}  // namespace

ModelConfig ModelConfig::load(const std::filesystem::path& dir) {
  return from_json(read_json(dir, "config.json"), (dir / "config.json").string());
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& origin) {
  require(j.is_object(), "{}: expected a JSON object", origin);
  ModelConfig c;
  require(j.contains("model_type") && j["model_type"].is_string(),
          "{}: missing or non-string field 'model_type'", origin);
  c.model_type = j["model_type"].get<std::string>();
  require(c.model_type != "qwen3",
          "{}: unsupported model_type 'qwen3' (Qwen3 normalises q and k per head, which is not "
          "implemented; supported: llama, mistral, qwen2)",
          origin);
  require(kModelTypeFields.contains(c.model_type),
          "{}: unsupported model_type '{}' (supported: llama, mistral, qwen2)", origin,
          c.model_type);
  check_known_fields(j, c.model_type, origin);
  check_math_fields(j, c, origin);

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
  // An explicit head_dim may differ from hidden_size / heads (Mistral Nemo);
  // a head_dim the weights do not have fails their shape check at load.
  if (!j.contains("head_dim") || j["head_dim"].is_null()) {
    require(c.hidden_size % c.num_attention_heads == 0,
            "{}: num_attention_heads ({}) must divide hidden_size ({}) when head_dim is absent",
            origin, c.num_attention_heads, c.hidden_size);
  }
  c.head_dim = int_field(j, "head_dim", origin, c.hidden_size / c.num_attention_heads);
  require(c.head_dim > 0 && c.head_dim % 2 == 0,
          "{}: field 'head_dim' must be positive and even (RoPE rotates pairs), got {}", origin,
          c.head_dim);
  // Products of sizes index buffers as int: keep each far from overflow.
  constexpr int64_t kMaxWidth = int64_t{1} << 20;
  require(c.hidden_size <= kMaxWidth && c.intermediate_size <= kMaxWidth &&
              int64_t{c.num_attention_heads} * c.head_dim <= kMaxWidth &&
              c.vocab_size <= (int64_t{1} << 24) && c.num_hidden_layers <= 4096,
          "{}: sizes out of range (hidden_size, intermediate_size and num_attention_heads x "
          "head_dim at most {}, vocab_size at most {}, num_hidden_layers at most 4096)",
          origin, kMaxWidth, int64_t{1} << 24);
  c.max_position_embeddings = int_field(j, "max_position_embeddings", origin, 2048);
  require(c.max_position_embeddings > 0, "{}: field 'max_position_embeddings' must be positive",
          origin);
  c.rope_theta = number_field(j, "rope_theta", origin, 10000.0);
  const bool has_parameters = j.contains("rope_parameters") && !j["rope_parameters"].is_null();
  require(!has_parameters || !j.contains("rope_scaling") || j["rope_scaling"].is_null(),
          "{}: fields 'rope_scaling' and 'rope_parameters' are both set; give one", origin);
  c.rope_scaling =
      has_parameters
          ? parse_rope(j["rope_parameters"], "rope_parameters", origin, &c.rope_theta)
          : parse_rope(j.value("rope_scaling", nlohmann::json()), "rope_scaling", origin, nullptr);
  c.rms_norm_eps = number_field(j, "rms_norm_eps", origin, 1e-6);
  require(c.rope_theta > 0 && c.rms_norm_eps > 0,
          "{}: fields 'rope_theta' and 'rms_norm_eps' must be positive", origin);
  c.tie_word_embeddings = bool_field(j, "tie_word_embeddings", origin, false);
  c.attention_bias = c.model_type == "qwen2";
  if (c.model_type != "llama") c.sliding_window = parse_sliding_window(j, c, origin);
  c.bos_token_id = int_field(j, "bos_token_id", origin, 1);
  const auto eos = token_ids_field(j, "eos_token_id", origin);
  if (!eos.empty()) c.eos_token_ids = eos;
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
  j["rope_scaling"] = nullptr;
  if (rope_scaling.type == "linear") {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope_scaling.factor}};
  } else if (rope_scaling.type == "llama3") {
    j["rope_scaling"] = {
        {"rope_type", "llama3"},
        {"factor", rope_scaling.factor},
        {"low_freq_factor", rope_scaling.low_freq_factor},
        {"high_freq_factor", rope_scaling.high_freq_factor},
        {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  }
  j["rms_norm_eps"] = rms_norm_eps;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["attention_bias"] = attention_bias;
  if (model_type == "mistral") {
    j["sliding_window"] = sliding_window > 0 ? nlohmann::json(sliding_window) : nullptr;
  } else if (model_type == "qwen2") {
    // Every layer slides: the one window limits every sequence either way.
    j["use_sliding_window"] = sliding_window > 0;
    j["sliding_window"] = sliding_window > 0 ? nlohmann::json(sliding_window) : nullptr;
    j["max_window_layers"] = 0;
  }
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] =
      eos_token_ids.size() == 1 ? nlohmann::json(eos_token_ids[0]) : nlohmann::json(eos_token_ids);
  j["hidden_act"] = "silu";
  return j;
}

bool ModelConfig::is_eos(int32_t id) const {
  return std::find(eos_token_ids.begin(), eos_token_ids.end(), id) != eos_token_ids.end();
}

int ModelConfig::max_context() const {
  return sliding_window > 0 ? std::min(max_position_embeddings, sliding_window)
                            : max_position_embeddings;
}

void ModelConfig::require_context(int length, const std::string& what) const {
  require(length >= 1, "{} {} is not positive", what, length);
  const bool window = sliding_window > 0 && sliding_window < max_position_embeddings;
  require(length <= max_context(), "{} {} exceeds the model's {} positions ({})", what, length,
          max_context(),
          window ? "sliding_window: Brigade does not mask by window, so it refuses sequences "
                   "longer than the window, which would attend differently"
                 : "max_position_embeddings");
}

// ---- GenerationConfig ----------------------------------------------------------

GenerationConfig GenerationConfig::load(const std::filesystem::path& dir,
                                        const ModelConfig& model) {
  for (const char* name : {"generation_config.json", "config.json"}) {
    // Without generation_config.json, transformers takes config.json's
    // generation fields (GenerationConfig.from_model_config).
    const bool own_file = name == std::string_view("generation_config.json");
    if (std::filesystem::exists(dir / name))
      return from_json(read_json(dir, name), model, (dir / name).string(), !own_file);
  }
  return from_json(nlohmann::json::object(), model, "defaults", true);
}

GenerationConfig GenerationConfig::from_json(const nlohmann::json& j, const ModelConfig& model,
                                             const std::string& origin,
                                             bool only_generation_fields) {
  require(j.is_object(), "{}: expected a JSON object", origin);
  for (const auto& [key, value] : j.items()) {
    if (const auto def = kGenerationFieldDefaults.find(key);
        def != kGenerationFieldDefaults.end()) {
      require(is_unset(value) || value == def->second,
              "{}: field '{}' is {}; Brigade does not implement it, so it cannot generate what "
              "transformers would (remove the field to generate without it)",
              origin, key, value.dump());
      continue;
    }
    require(only_generation_fields || kUsedGenerationFields.contains(key) ||
                kNeutralGenerationFields.contains(key),
            "{}: field '{}' is not a generation field Brigade knows; it may change the output, "
            "so it is refused (see docs/config_fields.md)",
            origin, key);
  }
  GenerationConfig g;
  g.do_sample = bool_field(j, "do_sample", origin, false);
  g.temperature = static_cast<float>(number_field(j, "temperature", origin, 1.0));
  g.top_k = int_field(j, "top_k", origin, 50);
  g.top_p = static_cast<float>(number_field(j, "top_p", origin, 1.0));
  g.repetition_penalty = static_cast<float>(number_field(j, "repetition_penalty", origin, 1.0));
  require(g.repetition_penalty > 0, "{}: field 'repetition_penalty' must be > 0, got {}", origin,
          g.repetition_penalty);
  require(g.temperature > 0 || (!g.do_sample && g.temperature == 0),
          "{}: field 'temperature' must be positive when sampling, got {}", origin, g.temperature);
  require(g.top_k >= 0, "{}: field 'top_k' must be >= 0, got {}", origin, g.top_k);
  require(g.top_p > 0 && g.top_p <= 1, "{}: field 'top_p' must be in (0, 1], got {}", origin,
          g.top_p);
  g.eos_token_ids = model.eos_token_ids;
  for (int32_t id : token_ids_field(j, "eos_token_id", origin))
    if (!model.is_eos(id)) g.eos_token_ids.push_back(id);
  g.bos_token_id = int_field(j, "bos_token_id", origin, model.bos_token_id);
  return g;
}

SamplingOptions GenerationConfig::sampling() const {
  SamplingOptions s;
  s.repetition_penalty = repetition_penalty;
  if (do_sample) {
    s.temperature = temperature;
    s.top_k = top_k;
    s.top_p = top_p;
  }
  return s;
}

}  // namespace brigade
