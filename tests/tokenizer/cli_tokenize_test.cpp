// `brigade tokenize` end to end on the Llama 3 fixture.

#include <gtest/gtest.h>

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
