#include "model/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "util/error.h"

namespace brigade::test {
namespace {

nlohmann::json llama_json() {
  return nlohmann::json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
    "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
    "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 2048,
    "rope_theta": 10000.0, "rms_norm_eps": 1e-05, "tie_word_embeddings": false,
    "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"})");
}

std::string error_of(const nlohmann::json& j) {
  try {
    ModelConfig::from_json(j, "/models/x/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ParsesHuggingFaceLlama) {
  const auto c = ModelConfig::from_json(llama_json(), "test");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.intermediate_size, 5632);
  EXPECT_EQ(c.num_hidden_layers, 22);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.q_dim(), 2048);
  EXPECT_EQ(c.kv_dim(), 256);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(Config, DefaultsAndVariants) {
  auto j = llama_json();
  j.erase("num_key_value_heads");
  j.erase("rope_theta");
  j.erase("max_position_embeddings");
  j["eos_token_id"] = {128001, 128009};  // Llama 3 lists several
  j["head_dim"] = nullptr;
  auto c = ModelConfig::from_json(j, "test");
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{128001, 128009}));  // all of them
  EXPECT_TRUE(c.is_eos(128009));
  EXPECT_FALSE(c.is_eos(2));

  j["model_type"] = "qwen2";
  j["head_dim"] = 128;
  EXPECT_TRUE(ModelConfig::from_json(j, "test").attention_bias);  // implied by qwen2
  EXPECT_EQ(ModelConfig::from_json(j, "test").head_dim, 128);
  j["model_type"] = "mistral";
  EXPECT_FALSE(ModelConfig::from_json(j, "test").attention_bias);
}

TEST(Config, RoundTripsThroughJson) {
  auto c = ModelConfig::from_json(llama_json(), "test");
  c.tie_word_embeddings = true;
  c.rope_theta = 500000;
  c.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 8192};
  c.eos_token_ids = {128001, 128008, 128009};
  auto back = ModelConfig::from_json(c.to_json(), "test");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.rope_scaling, c.rope_scaling);
  EXPECT_EQ(back.eos_token_ids, c.eos_token_ids);
  EXPECT_EQ(c.to_json()["architectures"][0], "LlamaForCausalLM");

  for (const char* type : {"mistral", "qwen2"}) {
    c.model_type = type;
    c.attention_bias = c.model_type == "qwen2";
    c.rope_scaling = {"linear", 2.0};
    c.sliding_window = 4096;
    back = ModelConfig::from_json(c.to_json(), "test");
    EXPECT_EQ(back.to_json(), c.to_json()) << type;
    EXPECT_EQ(back.sliding_window, 4096) << type;
    EXPECT_EQ(back.rope_scaling, c.rope_scaling) << type;
  }
}

// What Llama 3.1, Qwen2.5 and Mistral v0.1 publish parses, with the fields
// that matter read from it.
TEST(Config, ReadsRopeScalingSlidingWindowAndNeutralFields) {
  auto j = llama_json();
  j["rope_scaling"] = {{"factor", 32.0},
                       {"high_freq_factor", 4.0},
                       {"low_freq_factor", 1.0},
                       {"original_max_position_embeddings", 8192},
                       {"rope_type", "llama3"}};
  j["pretraining_tp"] = 2;  // same products, summed in slices
  j["mlp_bias"] = false;
  j["hidden_act"] = "silu";
  j["attention_dropout"] = 0.0;
  j["_name_or_path"] = "meta-llama/Llama-3.2-1B";
  j["repetition_penalty"] = 1.0;  // old config.json files hold generation defaults too
  auto c = ModelConfig::from_json(j, "test");
  EXPECT_EQ(c.rope_scaling, (RopeScaling{"llama3", 32.0, 1.0, 4.0, 8192}));
  EXPECT_EQ(c.max_context(), 2048);

  j = llama_json();  // transformers 5 writes rope_parameters, with rope_theta inside
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1e6}};
  c = ModelConfig::from_json(j, "test");
  EXPECT_EQ(c.rope_scaling, (RopeScaling{"linear", 2.0}));
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);

  j = llama_json();
  j["model_type"] = "mistral";
  j["sliding_window"] = 4096;
  j["max_position_embeddings"] = 32768;
  c = ModelConfig::from_json(j, "test");
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_EQ(c.max_context(), 4096);
  j["sliding_window"] = nullptr;  // Mistral v0.2 on
  EXPECT_EQ(ModelConfig::from_json(j, "test").max_context(), 32768);

  // Qwen2 ships a sliding_window but does not use it...
  j = llama_json();
  j["model_type"] = "qwen2";
  j["num_hidden_layers"] = 28;
  j["sliding_window"] = 1024;
  j["use_sliding_window"] = false;
  j["max_window_layers"] = 21;
  EXPECT_EQ(ModelConfig::from_json(j, "test").sliding_window, 0);
  // ... unless use_sliding_window, and a layer from max_window_layers on slides.
  j["use_sliding_window"] = true;
  EXPECT_EQ(ModelConfig::from_json(j, "test").sliding_window, 1024);
  j["max_window_layers"] = 28;
  EXPECT_EQ(ModelConfig::from_json(j, "test").sliding_window, 0);
  j["layer_types"] = std::vector<std::string>(28, "full_attention");
  EXPECT_EQ(ModelConfig::from_json(j, "test").sliding_window, 0);
  j["layer_types"][27] = "sliding_attention";
  EXPECT_EQ(ModelConfig::from_json(j, "test").sliding_window, 1024);
}

// config.json files as Qwen and Mistral publish them: every field is known.
TEST(Config, AcceptsPublishedQwen25AndMistralConfigs) {
  const auto qwen = ModelConfig::from_json(nlohmann::json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 3584,
    "initializer_range": 0.02, "intermediate_size": 18944, "max_position_embeddings": 32768,
    "max_window_layers": 28, "model_type": "qwen2", "num_attention_heads": 28,
    "num_hidden_layers": 28, "num_key_value_heads": 4, "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0, "sliding_window": 131072, "tie_word_embeddings": false,
    "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
    "use_sliding_window": false, "vocab_size": 152064})"),
                                           "qwen2.5");
  EXPECT_TRUE(qwen.attention_bias);
  EXPECT_EQ(qwen.sliding_window, 0);
  EXPECT_EQ(qwen.max_context(), 32768);
  const auto mistral = ModelConfig::from_json(nlohmann::json::parse(R"({
    "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1,
    "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
    "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16",
    "transformers_version": "4.42.0.dev0", "use_cache": true, "vocab_size": 32768})"),
                                              "mistral-v0.3");
  EXPECT_FALSE(mistral.attention_bias);
  EXPECT_EQ(mistral.max_context(), 32768);
}

TEST(Config, ContextLongerThanTheWindowIsRefusedNamingSlidingWindow) {
  auto j = llama_json();
  j["model_type"] = "mistral";
  j["sliding_window"] = 64;
  const auto c = ModelConfig::from_json(j, "test");
  EXPECT_NO_THROW(c.require_context(64, "session s"));
  try {
    c.require_context(65, "session s: max length");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("session s: max length 65"), std::string::npos) << message;
    EXPECT_NE(message.find("sliding_window"), std::string::npos) << message;
  }
  const auto plain = ModelConfig::from_json(llama_json(), "test");
  try {
    plain.require_context(2049, "prompt =");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_position_embeddings"), std::string::npos);
  }
  EXPECT_THROW(plain.require_context(0, "prompt ="), Error);
}

// Each case sets one field; the error must name it.
struct Refusal {
  std::string field;  // also the text the error must contain
  nlohmann::json patch;
};

TEST(Config, RefusesEveryFieldThatChangesTheMathAndIsNotImplemented) {
  auto rope = [](nlohmann::json scaling) { return nlohmann::json{{"rope_scaling", scaling}}; };
  const std::vector<Refusal> cases = {
      {"hidden_act", {{"hidden_act", "gelu"}}},
      {"hidden_activation", {{"hidden_activation", "gelu_pytorch_tanh"}}},
      {"mlp_bias", {{"mlp_bias", true}}},
      {"attention_bias", {{"attention_bias", true}}},  // llama's also biases o_proj
      {"dynamic", rope({{"rope_type", "dynamic"}, {"factor", 2.0}})},
      {"yarn", rope({{"rope_type", "yarn"}, {"factor", 4.0}})},
      {"longrope", rope({{"type", "longrope"}})},
      {"ntk-by-parts", rope({{"rope_type", "ntk-by-parts"}})},
      {"rope_scaling", rope({{"factor", 2.0}})},  // no type
      {"rope_scaling.high_freq_factor", rope({{"rope_type", "llama3"},
                                              {"factor", 8.0},
                                              {"low_freq_factor", 1.0},
                                              {"original_max_position_embeddings", 8192}})},
      {"rope_scaling.mrope_section",
       rope({{"rope_type", "default"}, {"mrope_section", {16, 24, 24}}})},
      {"rope_scaling.factor", rope({{"rope_type", "linear"}, {"factor", -1.0}})},
      {"partial_rotary_factor", {{"partial_rotary_factor", 0.5}}},
      {"use_qk_norm", {{"use_qk_norm", true}}},
      {"qk_norm", {{"qk_norm", true}}},
      {"attn_logit_softcapping", {{"attn_logit_softcapping", 50.0}}},
      {"final_logit_softcapping", {{"final_logit_softcapping", 30.0}}},
      {"num_experts", {{"num_experts", 8}}},
      {"num_local_experts", {{"num_local_experts", 8}}},
      {"num_experts_per_tok", {{"num_experts_per_tok", 2}}},
      {"quantization_config", {{"quantization_config", {{"quant_method", "gptq"}}}}},
      {"pruned_heads", {{"pruned_heads", {{"0", {1}}}}}},
      {"auto_map", {{"auto_map", {{"AutoModelForCausalLM", "modeling_x.XForCausalLM"}}}}},
      {"sliding_window", {{"sliding_window", 4096}}},  // not a Llama field
      {"use_sliding_window", {{"use_sliding_window", true}}},
      {"layer_types", {{"layer_types", {"full_attention"}}}},
      {"some_new_field", {{"some_new_field", 1}}},  // unknown: might change the math
      {"qwen3", {{"model_type", "qwen3"}}},
  };
  for (const auto& refusal : cases) {
    auto j = llama_json();
    j.merge_patch(refusal.patch);
    const auto message = error_of(j);
    EXPECT_NE(message.find(refusal.field), std::string::npos)
        << refusal.patch.dump() << " -> '" << message << "'";
    EXPECT_NE(message.find("/models/x/config.json"), std::string::npos) << message;
  }
}

TEST(Config, RefusesModelTypeSpecificContradictions) {
  auto j = llama_json();
  j["model_type"] = "mistral";
  j["attention_bias"] = true;  // transformers' Mistral has none
  EXPECT_NE(error_of(j).find("attention_bias"), std::string::npos);
  j["model_type"] = "qwen2";
  j["attention_bias"] = false;  // transformers' Qwen2 always has q/k/v biases
  EXPECT_NE(error_of(j).find("attention_bias"), std::string::npos);
  j.erase("attention_bias");
  j["use_sliding_window"] = true;  // window missing
  j["max_window_layers"] = 0;
  EXPECT_NE(error_of(j).find("sliding_window"), std::string::npos);
  j["sliding_window"] = 128;
  j["layer_types"] = std::vector<std::string>(22, "chunked_attention");
  EXPECT_NE(error_of(j).find("layer_types"), std::string::npos);
}

TEST(GenerationConfigTest, DefaultsFollowTransformers) {
  auto model_json = llama_json();
  model_json["eos_token_id"] = 128001;
  const auto model = ModelConfig::from_json(model_json, "config");
  // Llama 3.1 Instruct's generation_config.json.
  auto g = GenerationConfig::from_json(
      nlohmann::json::parse(R"({"bos_token_id": 128000, "do_sample": true,
        "eos_token_id": [128001, 128008, 128009], "temperature": 0.6, "top_p": 0.9,
        "transformers_version": "4.42.3"})"),
      model, "generation_config.json", false);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{128001, 128008, 128009}));
  EXPECT_EQ(g.bos_token_id, 128000);
  auto s = g.sampling();
  EXPECT_FLOAT_EQ(s.temperature, 0.6f);
  EXPECT_EQ(s.top_k, 50);  // transformers' default when top_k is absent
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);

  // do_sample false (or absent): greedy whatever temperature says.
  g = GenerationConfig::from_json(nlohmann::json::parse(R"({"temperature": 0.7, "top_k": 20})"),
                                  model, "generation_config.json", false);
  EXPECT_EQ(g.sampling().temperature, 0.0f);
  EXPECT_EQ(g.eos_token_ids, model.eos_token_ids);
  EXPECT_EQ(g.bos_token_id, model.bos_token_id);
}

TEST(GenerationConfigTest, RefusesWhatChangesTheOutputNamingTheField) {
  const auto model = ModelConfig::from_json(llama_json(), "config");
  for (const char* text :
       {R"({"encoder_repetition_penalty": 1.05})", R"({"num_beams": 4})", R"({"min_p": 0.05})",
        R"({"no_repeat_ngram_size": 3})", R"({"suppress_tokens": [5]})", R"({"wat": 1})"}) {
    const auto j = nlohmann::json::parse(text);
    try {
      GenerationConfig::from_json(j, model, "/m/generation_config.json", false);
      ADD_FAILURE() << text << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(j.begin().key()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("/m/generation_config.json"), std::string::npos);
    }
  }
  // Values that do nothing are fine, and so are neutral fields.
  EXPECT_NO_THROW(GenerationConfig::from_json(
      nlohmann::json::parse(R"({"repetition_penalty": 1.0, "num_beams": 1, "min_p": null,
        "pad_token_id": 0, "max_length": 4096, "_from_model_config": true})"),
      model, "g", false));
}

TEST(GenerationConfigTest, LoadsGenerationConfigElseConfigJson) {
  TempDir dir;
  auto j = llama_json();
  j["temperature"] = 0.5;  // transformers < 4.26 wrote generation defaults here
  j["do_sample"] = true;
  std::ofstream(dir / "config.json") << j.dump();
  const auto model = ModelConfig::load(dir.path());
  auto g = GenerationConfig::load(dir.path(), model);
  EXPECT_TRUE(g.do_sample);
  EXPECT_FLOAT_EQ(g.temperature, 0.5f);
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": [2, 7]})";
  g = GenerationConfig::load(dir.path(), model);
  EXPECT_FALSE(g.do_sample);  // generation_config.json wins over config.json
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{2, 7}));
}

TEST(Config, ErrorsNameTheFileAndField) {
  auto j = llama_json();
  j["model_type"] = "gpt2";
  auto message = error_of(j);
  EXPECT_NE(message.find("/models/x/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("unsupported model_type 'gpt2'"), std::string::npos) << message;

  j = llama_json();
  j.erase("hidden_size");
  message = error_of(j);
  EXPECT_NE(message.find("/models/x/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("hidden_size"), std::string::npos) << message;

  j = llama_json();
  j["vocab_size"] = "many";
  EXPECT_NE(error_of(j).find("vocab_size"), std::string::npos);

  j = llama_json();
  j["num_key_value_heads"] = 5;
  EXPECT_NE(error_of(j).find("num_key_value_heads (5)"), std::string::npos);
}

TEST(Config, LoadReportsMissingAndInvalidFiles) {
  TempDir dir;
  try {
    ModelConfig::load(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "config.json").string()), std::string::npos)
        << e.what();
  }
  std::ofstream(dir / "config.json") << "{ nope";
  EXPECT_THROW(ModelConfig::load(dir.path()), Error);
  auto j = llama_json();
  j["model_type"] = "bert";
  std::ofstream(dir / "config.json", std::ios::trunc) << j.dump();
  try {
    ModelConfig::load(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bert"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace brigade::test
