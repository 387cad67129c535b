// `brigade tokenize` end to end on the Llama 3 fixture.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace brigade::test {
namespace {

const std::string kLlama3 =
    (std::filesystem::path(BRIGADE_SHARED_DIR) / "tokenizers" / "llama3").string();

CommandResult tokenize(std::vector<std::string> args) {
  args.insert(args.begin(), {BRIGADE_BINARY, "tokenize", "--model", kLlama3});
  return run_command(args);
}

TEST(CliTokenize, PrintsIdsTokensAndText) {
  auto result = tokenize({"--text", "Hello world<|eot_id|>"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "9906,1917,128009\n");

  result = tokenize({"--text", "Hello world", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["ids"], nlohmann::json({9906, 1917}));
  EXPECT_EQ(json["tokens"], nlohmann::json({"Hello", "Ġworld"}));

  result = tokenize({"--decode", "9906, 1917,128009"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Hello world<|eot_id|>\n");

  TempDir dir;
  std::ofstream(dir / "in.txt") << "12345";
  result = tokenize({"--file", (dir / "in.txt").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "4513,1774\n");
}

TEST(CliTokenize, RefusesBadInput) {
  auto result = tokenize({"--decode", "1,x"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("--decode: 'x' is not a token id"), std::string::npos) << result.err;
  result = tokenize({"--decode", "999999"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("outside the vocabulary"), std::string::npos) << result.err;
  result = tokenize({});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("give one of --text"), std::string::npos) << result.err;
  TempDir empty;
  result =
      run_command({BRIGADE_BINARY, "tokenize", "--model", empty.path().string(), "--text", "x"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no tokenizer.json or tokenizer.model"), std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace brigade::test

namespace brigade::test {
namespace {

// --chat renders the conversation with the checkpoint's own template (the
// expected text is transformers' rendering, see tests/chat) and encodes it
// without adding another BOS.
TEST(CliChat, TokenizeRendersTheTemplateAndRunStartsFromTheSameIds) {
  const std::string expected =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
      "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello! How are "
      "you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  auto result = tokenize({"--chat", "--system", "You are a helpful assistant.", "--text",
                          "Hello! How are you?", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["text"], expected);
  const auto ids = json["ids"].get<std::vector<int32_t>>();
  ASSERT_GT(ids.size(), 10u);
  EXPECT_EQ(ids[0], 128000);  // <|begin_of_text|>, once
  EXPECT_NE(ids[1], 128000);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128009), 2);  // <|eot_id|> after system and user

  // A model with the Llama 3 tokenizer generates from exactly those ids.
  TempDir dir;
  const auto model = dir / "model";
  auto made = run_command({BRIGADE_BINARY, "make-model", "--out", model.string(), "--layers", "1",
                           "--hidden", "32", "--intermediate", "64", "--heads", "2", "--kv-heads",
                           "1", "--vocab", "128256", "--no-tokenizer"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(std::filesystem::path(kLlama3) / file, model / file);
  auto run = run_command({BRIGADE_BINARY, "run", "--model", model.string(), "--chat", "--system",
                          "You are a helpful assistant.", "--prompt", "Hello! How are you?",
                          "--max-new-tokens", "2", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto generated = nlohmann::json::parse(run.out)["ids"].get<std::vector<int32_t>>();
  ASSERT_GE(generated.size(), ids.size());
  EXPECT_TRUE(std::equal(ids.begin(), ids.end(), generated.begin()));

  // --chat needs a template; --system needs --chat.
  run = run_command({BRIGADE_BINARY, "tokenize", "--model",
                     (std::filesystem::path(BRIGADE_SHARED_DIR) / "tokenizers" / "llama2").string(),
                     "--chat", "--text", "hi"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("chat_template"), std::string::npos) << run.err;
  run = tokenize({"--system", "x", "--text", "hi"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--system"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace brigade::test
