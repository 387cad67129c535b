// Many clients at once (issue 3, item 8): eight `brigade generate` processes
// started together, each with its own prompt and sampling seed, share the
// same three servers. Sessions must not leak into each other: every client
// gets exactly the ids its own `brigade run` gives.

#include <gtest/gtest.h>

#include <future>

#include "common/swarm_fixture.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;

struct Client {
  Prompt prompt;
  std::vector<std::string> sampling;  // extra flags, the same for run and generate
  std::vector<std::string> mode;      // generate only: push or relay
};

TEST(Concurrency, EightClientsThroughThreeServersGetTheirOwnIds) {
  TempDir dir("brigade-concurrency");
  const auto model = make_small_model(dir, model_options());
  constexpr int kNewTokens = 16;
  const std::vector<std::string> relay = {"--no-push"};
  // Greedy and sampled clients, text and id prompts, push and relay, so that
  // no two clients expect the same ids.
  const std::vector<Client> clients = {
      {text_prompt("The cat sat on the mat"), {}, {}},
      {text_prompt("Once upon a time"), {}, relay},
      {id_prompt("5,17,42,99,3"), {}, {}},
      {id_prompt("200,11,7"), {}, relay},
      {text_prompt("The cat sat on the mat"), {"--temperature", "0.9", "--seed", "1"}, {}},
      {text_prompt("The cat sat on the mat"), {"--temperature", "0.9", "--seed", "2"}, relay},
      {id_prompt("5,17,42,99,3"), {"--temperature", "1.2", "--top-k", "20", "--seed", "3"}, {}},
      {id_prompt("9,8,7,6,5,4,3,2"),
       {"--temperature", "0.7", "--top-p", "0.9", "--seed", "4"},
       relay},
  };
  std::vector<Generation> expected;
  for (const auto& c : clients)
    expected.push_back(reference_run(model, c.prompt, kNewTokens, Output::kJsonLogits, c.sampling));
  for (size_t i = 0; i < expected.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      ASSERT_NE(expected[i].ids, expected[j].ids)
          << "clients " << i << " and " << j << " would not tell sessions apart";
    }
  }

  const auto swarm = start_swarm(model, even_spans(6, 3), dir / "logs");
  std::vector<std::future<CommandResult>> runs;
  for (const auto& c : clients) {
    auto extra = c.sampling;
    extra.insert(extra.end(), c.mode.begin(), c.mode.end());
    const auto args = generate_args(model, swarm->dht_address(), c.prompt, kNewTokens,
                                    Output::kJsonLogits, extra);
    runs.push_back(std::async(std::launch::async, [args] { return brigade(args); }));
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    SCOPED_TRACE("client " + std::to_string(i) + ": " + clients[i].prompt.value);
    const Generation got = parse_generation(runs[i].get(), Output::kJsonLogits);
    EXPECT_EQ(got.ids, expected[i].ids);
    EXPECT_TRUE(got.recoveries.empty()) << got.recoveries.dump();
  }
}

}  // namespace
}  // namespace brigade::test
