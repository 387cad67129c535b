#pragma once
// Helpers of the end-to-end swarm tests: run the `brigade` binary, read its
// --json output, start a LocalSwarm of a test model, compare a swarm run
// with the local reference run and check that a route tiles the model.

#include "common/test_util.h"
#include "swarm/local_swarm.h"
#include "util/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace brigade::test {

// The model the swarm tests serve: 6 blocks, hidden 64, GQA (4 query heads,
// 2 key/value heads), vocab 256, f32 weights, with a tokenizer.
inline MakeModelOptions swarm_model_options() {
  MakeModelOptions o = small_model_options();
  o.layers = 6;
  return o;
}

// `brigade args...`, run to completion with stdout and stderr captured.
inline CommandResult brigade_cli(std::vector<std::string> args,
                                 std::chrono::seconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), BRIGADE_BINARY);
  return run_command(args, timeout);
}

inline std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err;
}

// A prompt as the CLI takes it: {"--prompt", "text"} or {"--prompt-ids", "1,2,3"}.
struct Prompt {
  std::string flag;
  std::string value;
};

inline Prompt text_prompt(const std::string& text) { return {"--prompt", text}; }
inline Prompt id_prompt(const std::string& ids) { return {"--prompt-ids", ids}; }

// What `brigade run|generate --json --dump-logits` prints.
struct Generation {
  std::vector<int32_t> ids;
  std::vector<int32_t> new_ids;
  std::vector<float> logits;
  nlohmann::json route = nlohmann::json::array();  // generate only
  nlohmann::json recoveries = nlohmann::json::array();
};

// Parses the one JSON object a successful --json run prints; throws (which
// fails the test with the command's output) on anything else.
inline Generation parse_generation(const CommandResult& r) {
  if (r.exit_code != 0) throw std::runtime_error("command failed: " + describe(r));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("stdout is not one JSON object: ") + e.what() + "\n" +
                             describe(r));
  }
  Generation g;
  g.ids = j.at("ids").get<std::vector<int32_t>>();
  g.new_ids = j.at("new_ids").get<std::vector<int32_t>>();
  if (j.contains("logits")) g.logits = j["logits"].get<std::vector<float>>();
  if (j.contains("route")) g.route = j["route"];
  if (j.contains("recoveries")) g.recoveries = j["recoveries"];
  return g;
}

inline std::vector<std::string> generation_args(const Prompt& prompt, int max_new_tokens,
                                                const std::vector<std::string>& extra) {
  std::vector<std::string> args = {prompt.flag, prompt.value, "--max-new-tokens",
                                   std::to_string(max_new_tokens), "--json", "--dump-logits"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The local reference: every block in one process.
inline Generation local_run(const std::filesystem::path& model, const Prompt& prompt,
                            int max_new_tokens, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"run", "--model", model.string()};
  const auto rest = generation_args(prompt, max_new_tokens, extra);
  args.insert(args.end(), rest.begin(), rest.end());
  return parse_generation(brigade_cli(args));
}

inline std::vector<std::string> swarm_generate_args(const std::filesystem::path& model,
                                                    const std::string& dht, const Prompt& prompt,
                                                    int max_new_tokens,
                                                    const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"generate", "--model", model.string(), "--initial-peers", dht};
  const auto rest = generation_args(prompt, max_new_tokens, extra);
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

// The same generation through the swarm (extra: e.g. {"--no-push"}).
inline Generation swarm_generate(const std::filesystem::path& model, const std::string& dht,
                                 const Prompt& prompt, int max_new_tokens,
                                 const std::vector<std::string>& extra = {}) {
  return parse_generation(
      brigade_cli(swarm_generate_args(model, dht, prompt, max_new_tokens, extra)));
}

// max|a - b| / max|b|: how far the swarm's logits `a` are from the local
// reference `b`, relative to the logits' scale.
inline double relative_deviation(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || b.empty()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(double{a[i]} - double{b[i]}));
    scale = std::max(scale, std::fabs(double{b[i]}));
  }
  return diff / scale;
}

// A swarm of the model at `model_dir` with one server per spec, logs under
// `log_dir`.
inline std::unique_ptr<LocalSwarm> start_swarm(const std::filesystem::path& model_dir,
                                               const std::vector<ServerSpec>& servers,
                                               const std::filesystem::path& log_dir) {
  LocalSwarmOptions options;
  options.binary = BRIGADE_BINARY;
  options.model_dir = model_dir;
  options.servers = servers;
  options.log_dir = log_dir;
  return std::make_unique<LocalSwarm>(options);
}

// Checks that `route` (generate's "route" JSON) tiles [0, num_blocks)
// exactly, each hop inside the span of the swarm server it names (matched
// by address). Returns how many hops use only part of their server's span.
inline int expect_route_tiles(const nlohmann::json& route, int num_blocks, LocalSwarm& swarm,
                              const std::vector<ServerSpec>& specs) {
  int sub_spans = 0;
  EXPECT_FALSE(route.empty());
  int expected_start = 0;
  for (const auto& hop : route) {
    const int start = hop.at("start").get<int>(), end = hop.at("end").get<int>();
    EXPECT_EQ(start, expected_start) << route.dump();
    EXPECT_LT(start, end) << route.dump();
    expected_start = end;
    const std::string address = hop.at("address").get<std::string>();
    size_t index = swarm.size();
    for (size_t i = 0; i < swarm.size(); ++i) {
      if (swarm.server_address(i) == address) index = i;
    }
    EXPECT_LT(index, swarm.size()) << "route names an unknown server " << address;
    if (index >= swarm.size() || index >= specs.size()) continue;
    EXPECT_GE(start, specs[index].start) << route.dump();
    EXPECT_LE(end, specs[index].end) << route.dump();
    if (start != specs[index].start || end != specs[index].end) ++sub_spans;
  }
  EXPECT_EQ(expected_start, num_blocks) << route.dump();
  return sub_spans;
}

}  // namespace brigade::test
