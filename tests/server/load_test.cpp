// Load (issue 5, item 5): 32 clients at once, each generating 64 tokens
// through a swarm of 3 servers, half of them in push mode and half relayed.
// Every client must get exactly the ids the local engine gives for its own
// prompt, with no error and no recovery: under load, sessions neither fail
// nor leak into each other. (`brigade bench load` measures the same run.)

#include <thread>

#include "client/swarm_runner.h"
#include "dht/swarm_directory.h"
#include "model/checkpoint.h"
#include "model/local_runner.h"
#include "server/server_options.h"
#include "server/server_test_util.h"

namespace brigade::test {
namespace {

constexpr int kSessions = 32;
constexpr int kNewTokens = 64;
constexpr int kPromptTokens = 8;
constexpr int kServers = 3;
const int64_t kDefaultCacheTokens = ServerOptions{}.cache_tokens;  // `brigade server`'s

// A distinct prompt per client.
std::vector<int32_t> prompt_of(int client, int vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < kPromptTokens; ++i) ids.push_back(3 + (client * 31 + i * 7) % (vocab - 3));
  return ids;
}

GenerationRequest request_for(int client, int vocab) {
  GenerationRequest request;
  request.prompt_ids = prompt_of(client, vocab);
  request.max_new_tokens = kNewTokens;
  request.stop_at_eos = false;  // always exactly kNewTokens
  return request;
}

TEST(Load, ThirtyTwoSessionsThroughThreeServersAllCorrect) {
  TempDir dir("brigade-load");
  MakeModelOptions options = small_model_options();
  options.layers = 6;
  options.tokenizer = false;
  const auto model = make_small_model(dir, options);
  const ModelConfig config = ModelConfig::load(model);
  const auto checkpoint = Checkpoint::open(model);
  const ModelHead head(config, *checkpoint);
  const int max_length = kPromptTokens + kNewTokens;
  ASSERT_LE(max_length, config.max_position_embeddings);

  // The local engine's ids for every prompt.
  const BlockSpan all(config, *checkpoint, 0, config.num_hidden_layers);
  std::vector<std::vector<int32_t>> expected(kSessions);
  for (int c = 0; c < kSessions; ++c) {
    LocalBlockRunner local(all, 1, max_length);
    expected[c] = generate(head, nullptr, local, request_for(c, config.vocab_size)).ids;
  }
  int distinct = 0;
  for (int c = 0; c < kSessions; ++c) {
    bool seen = false;
    for (int d = 0; d < c; ++d) seen = seen || expected[d] == expected[c];
    distinct += seen ? 0 : 1;
  }
  EXPECT_GE(distinct, kSessions - 2) << "prompts too alike to tell sessions apart";

  const auto swarm =
      start_swarm(model, even_spans(config.num_hidden_layers, kServers), dir / "logs");
  std::vector<std::vector<int32_t>> got(kSessions);
  std::vector<std::string> errors(kSessions);
  std::vector<size_t> recoveries(kSessions);
  std::vector<std::thread> clients;
  const auto began = std::chrono::steady_clock::now();
  for (int c = 0; c < kSessions; ++c) {
    clients.emplace_back([&, c] {
      try {
        SwarmOptions swarm_options;
        swarm_options.initial_peers = {parse_host_port(swarm->dht_address(), "dht")};
        swarm_options.push = c % 2 == 0;
        swarm_options.deadlines.floor = std::chrono::milliseconds(10000);
        swarm_options.deadlines.cap = std::chrono::milliseconds(60000);
        SwarmBlockRunner runner(config, expected_model_of(model), swarm_options, 1, max_length);
        got[c] = generate(head, nullptr, runner, request_for(c, config.vocab_size)).ids;
        recoveries[c] = runner.recoveries().size();
      } catch (const std::exception& e) {
        errors[c] = e.what();
      }
    });
  }
  for (auto& t : clients) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  for (int c = 0; c < kSessions; ++c) {
    SCOPED_TRACE("client " + std::to_string(c) + (c % 2 == 0 ? " (push)" : " (relay)"));
    EXPECT_EQ(errors[c], "");
    EXPECT_EQ(got[c], expected[c]);
    EXPECT_EQ(recoveries[c], 0u);
  }
  std::printf("%d sessions x %d tokens through %d servers in %.1f s (%.0f tokens/s)\n", kSessions,
              kNewTokens, kServers, seconds, kSessions * kNewTokens / seconds);
  // Every session ended and gave its cache back.
  for (size_t i = 0; i < swarm->size(); ++i) {
    const auto channel = raw_channel(swarm->server_address(i));
    const rpc::InfoResponse info = wait_for_server_state(channel, 0, kDefaultCacheTokens);
    EXPECT_EQ(info.sessions(), 0) << "server " << i;
    EXPECT_EQ(info.cache_tokens_left(), kDefaultCacheTokens) << "server " << i;
    EXPECT_TRUE(swarm->server(i).running()) << swarm->server(i).log();
  }
}

}  // namespace
}  // namespace brigade::test
