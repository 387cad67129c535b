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
  EXPECT_EQ(c.eos_token_id, 128001);

  j["model_type"] = "qwen2";
  j["head_dim"] = 128;
  EXPECT_TRUE(ModelConfig::from_json(j, "test").attention_bias);  // implied by qwen2
  EXPECT_EQ(ModelConfig::from_json(j, "test").head_dim, 128);
  j["model_type"] = "mistral";
  EXPECT_FALSE(ModelConfig::from_json(j, "test").attention_bias);
  j["attention_bias"] = true;
  EXPECT_TRUE(ModelConfig::from_json(j, "test").attention_bias);
}

TEST(Config, RoundTripsThroughJson) {
  auto c = ModelConfig::from_json(llama_json(), "test");
  c.tie_word_embeddings = true;
  c.rope_theta = 500000;
  const auto back = ModelConfig::from_json(c.to_json(), "test");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(c.to_json()["architectures"][0], "LlamaForCausalLM");
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
