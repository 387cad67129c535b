// The `brigade` binary end to end: make-model, then run.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "model/block_span.h"
#include "model/config.h"
#include "model/local_runner.h"
#include "model/model_head.h"
#include "util/version.h"

namespace brigade::test {
namespace {

struct Run {
  int exit_code;
  std::string out, err;
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs the brigade binary with `args` (already shell-quoted), capturing
// stdout and stderr separately.
Run brigade(const TempDir& dir, const std::string& args) {
  const auto out = dir / "stdout", err = dir / "stderr";
  const auto command =
      fmt::format("'{}' {} > '{}' 2> '{}'", BRIGADE_BINARY, args, out.string(), err.string());
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

TEST(Cli, MakeModelThenRunPrintsOneJsonObject) {
  TempDir dir;
  const auto model = dir / "m";
  auto made = brigade(dir, fmt::format("make-model --out '{}' --layers 2 --hidden 64 --heads 4 "
                                       "--kv-heads 2 --intermediate 128 --vocab 300 --seed 5 "
                                       "--dtype bf16 --shards 2",
                                       model.string()));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(std::filesystem::exists(model / "model.safetensors.index.json"));
  EXPECT_TRUE(std::filesystem::exists(model / "tokenizer.model"));
  const auto config = nlohmann::json::parse(slurp(model / "config.json"));
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  EXPECT_EQ(config["num_key_value_heads"], 2);

  auto run = brigade(dir, fmt::format("run --model '{}' --prompt 'The cat sat' "
                                      "--max-new-tokens 5 --json --dump-logits",
                                      model.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);  // throws unless exactly one JSON value
  ASSERT_TRUE(j.is_object());
  const auto ids = j["ids"].get<std::vector<int32_t>>();
  const auto new_ids = j["new_ids"].get<std::vector<int32_t>>();
  ASSERT_FALSE(new_ids.empty());
  EXPECT_LE(new_ids.size(), 5u);
  ASSERT_GT(ids.size(), new_ids.size());
  EXPECT_EQ(ids[0], 1);  // BOS
  EXPECT_TRUE(std::equal(new_ids.begin(), new_ids.end(), ids.end() - new_ids.size()));
  EXPECT_TRUE(j["text"].is_string());
  for (const char* key : {"load_s", "prefill_s", "per_token_ms"})
    EXPECT_GE(j["timings"][key].get<double>(), 0.0) << key;
  const auto logits = j["logits"].get<std::vector<float>>();
  ASSERT_EQ(logits.size(), 300u);
  // Greedy by default: the first new token is the argmax of the dumped logits.
  EXPECT_EQ(std::max_element(logits.begin(), logits.end()) - logits.begin(), new_ids[0]);

  // The same prompt through the library gives the same tokens.
  const std::vector<int32_t> prompt(ids.begin(), ids.end() - new_ids.size());
  const auto cfg = ModelConfig::load(model);
  const auto checkpoint = Checkpoint::open(model);
  const ModelHead head(cfg, *checkpoint);
  const BlockSpan span(cfg, *checkpoint, 0, cfg.num_hidden_layers);
  LocalBlockRunner runner(span, 1, 64);
  GenerationRequest request;
  request.prompt_ids = prompt;
  request.max_new_tokens = 5;
  EXPECT_EQ(generate(head, nullptr, runner, request).new_ids, new_ids);

  // Token-id prompts and sampling flags.
  run = brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,5,9 --max-new-tokens 3 --json "
                                 "--temperature 0.9 --top-k 20 --top-p 0.9 --seed 3",
                                 model.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto sampled = nlohmann::json::parse(run.out);
  EXPECT_EQ(sampled["ids"][0], 1);
  EXPECT_EQ(sampled["ids"][2], 9);
  EXPECT_FALSE(sampled.contains("logits"));

  // Streaming mode prints the text, not JSON.
  run = brigade(
      dir, fmt::format("run --model '{}' --prompt 'The cat' --max-new-tokens 3", model.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find('{'), std::string::npos);
}

TEST(Cli, VersionNamesTheReleaseAndTheKernelPath) {
  TempDir dir;
  const auto run = brigade(dir, "--version");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.rfind(std::string(kVersion) + " (kernels: ", 0), 0u) << run.out;
}

TEST(Cli, RunRejectsBadInputWithAMessage) {
  TempDir dir;
  auto run = brigade(dir, "run --model /nonexistent/brigade-model --prompt-ids 1,2 --json");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("error: "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("/nonexistent/brigade-model"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;

  auto made = brigade(dir, fmt::format("make-model --out '{}' --layers 1 --vocab 128 "
                                       "--no-tokenizer",
                                       (dir / "m").string()));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  run = brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,x,3", (dir / "m").string()));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("'x'"), std::string::npos) << run.err;
  run = brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,128", (dir / "m").string()));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("128"), std::string::npos) << run.err;
  run = brigade(dir, fmt::format("run --model '{}' --prompt hello", (dir / "m").string()));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("tokenizer"), std::string::npos) << run.err;
  run = brigade(dir, fmt::format("make-model --out '{}' --model-type gpt2", (dir / "g").string()));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("gpt2"), std::string::npos) << run.err;
}

// generation_config.json supplies the defaults (eos list, sampling), flags
// override them, and a sliding window bounds prompt + new tokens.
TEST(Cli, RunAppliesGenerationConfigAndFlagsOverrideIt) {
  TempDir dir;
  auto make = [&](const std::filesystem::path& out, const std::string& flags) {
    const auto made = brigade(dir, fmt::format("make-model --out '{}' --layers 1 --vocab 128 "
                                               "--no-tokenizer {}",
                                               out.string(), flags));
    EXPECT_EQ(made.exit_code, 0) << made.err;
  };
  const auto model = dir / "m";
  make(model, "--seed 2");
  auto new_ids = [&](const std::string& flags) {
    const auto run =
        brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,2,3 --max-new-tokens 6 --json {}",
                                 model.string(), flags));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.exit_code == 0
               ? nlohmann::json::parse(run.out)["new_ids"].get<std::vector<int32_t>>()
               : std::vector<int32_t>{};
  };
  auto write_generation_config = [&](const nlohmann::json& j) {
    std::ofstream(model / "generation_config.json", std::ios::trunc) << j.dump();
  };
  const auto greedy = new_ids("");
  ASSERT_EQ(greedy.size(), 6u);

  // The eos list of generation_config.json stops the run (greedy: no do_sample).
  write_generation_config({{"eos_token_id", {127, greedy[2]}}});
  const auto until = std::find(greedy.begin(), greedy.end(), greedy[2]) + 1;
  EXPECT_EQ(new_ids(""), std::vector<int32_t>(greedy.begin(), until));

  // Sampling defaults apply; --temperature 0 overrides them back to greedy.
  write_generation_config({{"do_sample", true}, {"temperature", 100.0}, {"top_k", 0}});
  EXPECT_NE(new_ids("--seed 1"), greedy);
  EXPECT_EQ(new_ids("--seed 1 --temperature 0"), greedy);

  // Without --seed each sampled run draws its own seed and reports it; the
  // reported seed repeats the run exactly.
  auto seeded = [&](const std::string& flags) {
    const auto run =
        brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,2,3 --max-new-tokens 6 --json {}",
                                 model.string(), flags));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.exit_code == 0 ? nlohmann::json::parse(run.out) : nlohmann::json::object();
  };
  const auto first = seeded(""), second = seeded("");
  ASSERT_TRUE(first.contains("seed") && second.contains("seed")) << first.dump();
  EXPECT_NE(first["seed"], second["seed"]) << "two runs drew the same 64-bit seed";
  const auto again = seeded("--seed " + std::to_string(first["seed"].get<uint64_t>()));
  EXPECT_EQ(again["seed"], first["seed"]);
  EXPECT_EQ(again["new_ids"], first["new_ids"]);

  // repetition_penalty applies to greedy decoding too; the flag overrides it.
  write_generation_config({{"repetition_penalty", 1.3}});
  EXPECT_EQ(new_ids("--repetition-penalty 1"), greedy);
  EXPECT_EQ(new_ids("").size(), greedy.size());
  write_generation_config({{"repetition_penalty", 0}});
  auto run = brigade(dir, fmt::format("run --model '{}' --prompt-ids 1 --json", model.string()));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("repetition_penalty"), std::string::npos) << run.err;

  // A mistral window of 8: 3 + 5 positions run, 3 + 6 are refused naming the field.
  const auto windowed = dir / "w";
  make(windowed, "--model-type mistral --sliding-window 8");
  run = brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,2,3 --max-new-tokens 5 --json",
                                 windowed.string()));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  run = brigade(dir, fmt::format("run --model '{}' --prompt-ids 1,2,3 --max-new-tokens 6 --json",
                                 windowed.string()));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("sliding_window"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace brigade::test

namespace brigade::test {
namespace {

// `--dump-logits all` lets anyone check prefill/decode invariance from
// outside: the logits of a decoded token equal, bitwise, the logits of the
// same position when the tokens before it come as one prompt (a prefill).
TEST(Cli, DumpLogitsAllShowsPrefillEqualsDecodeBitwise) {
  TempDir dir;
  const auto model = dir / "m";
  ASSERT_EQ(brigade(dir, fmt::format("make-model --out '{}' --layers 2 --hidden 64 --heads 4 "
                                     "--kv-heads 2 --intermediate 128 --vocab 300 --seed 9 "
                                     "--no-tokenizer",
                                     model.string()))
                .exit_code,
            0);
  for (const char* quant : {"none", "int4"}) {
    SCOPED_TRACE(quant);
    auto decoded =
        brigade(dir, fmt::format("run --model '{}' --prompt-ids 5,6,7 --max-new-tokens 4 "
                                 "--json --dump-logits all --quant {}",
                                 model.string(), quant));
    ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
    const auto d = nlohmann::json::parse(decoded.out);
    const auto all = d["all_logits"].get<std::vector<std::vector<float>>>();
    const auto new_ids = d["new_ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0], d["logits"].get<std::vector<float>>());
    // Prompt = the first prompt plus the first two generated tokens: its
    // first logits come from a prefill over positions the decode computed
    // one by one (on one thread instead of the cores: no difference either).
    auto prefilled =
        brigade(dir, fmt::format("run --model '{}' --prompt-ids 5,6,7,{},{} "
                                 "--max-new-tokens 1 --json --dump-logits --quant {} --threads 1",
                                 model.string(), new_ids[0], new_ids[1], quant));
    ASSERT_EQ(prefilled.exit_code, 0) << prefilled.err;
    EXPECT_EQ(nlohmann::json::parse(prefilled.out)["logits"].get<std::vector<float>>(), all[2]);
  }
}

}  // namespace
}  // namespace brigade::test
