// Model identity through real processes (issue 8, points 4 and 5): a server
// that holds other weights (same config, other seed) is never routed through
// and the refusal names it; a client with fewer layers is refused; a client
// holding only the head shards, the config, the tokenizer and the manifest
// generates what the full checkpoint generates; a server whose manifest
// belongs to other weights refuses to start; `brigade manifest` writes the
// id the servers announce; `status` shows the model's name.

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/swarm_fixture.h"
#include "model/manifest.h"
#include "net/address.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kNewTokens = 6;
const Prompt kPrompt = id_prompt("5,17,42,99,3");

MakeModelOptions options(int layers = 6, uint64_t seed = 0, int shards = 1) {
  MakeModelOptions o = model_options();
  o.layers = layers;
  o.seed = seed;
  o.shards = shards;
  o.tokenizer = false;
  return o;
}

void expect_contains(const std::string& text, const std::string& needle, const CommandResult& r) {
  EXPECT_NE(text.find(needle), std::string::npos) << "'" << needle << "' not in:\n" << describe(r);
}

// `brigade generate` that must fail: non-zero exit, nothing generated.
CommandResult failed_generate(const fs::path& model, const std::string& dht) {
  const CommandResult r = brigade(
      generate_args(model, dht, kPrompt, kNewTokens, Output::kJson, {"--wait-for-swarm", "3"}));
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);
  return r;
}

// A server of `model` outside any LocalSwarm (another checkpoint than the
// swarm's), started and ready.
struct LoneServer {
  std::string address = "127.0.0.1:" + std::to_string(free_tcp_port());
  std::unique_ptr<ChildProcess> process;
  LoneServer(const fs::path& model, const std::string& blocks, const std::string& dht,
             const fs::path& log) {
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{BRIGADE_BINARY, "server", "--model", model.string(), "--blocks",
                                 blocks, "--listen", address, "--initial-peers", dht},
        log.string());
    wait_for_log_line(*process, "serving blocks", 90s);
  }
};

// The shard files holding the tensors whose names start with one of `prefixes`.
std::set<std::string> shards_of(const fs::path& model, const std::vector<std::string>& prefixes) {
  const auto checkpoint = Checkpoint::open(model);
  std::set<std::string> out;
  for (const auto& name : checkpoint->names()) {
    for (const auto& p : prefixes) {
      if (name.compare(0, p.size(), p) == 0) out.insert(checkpoint->info(name).file);
    }
  }
  return out;
}

// `to` with every file of `from` but its safetensors shards, plus `shards`
// (of `shards_from`, default `from`); without the manifest unless asked.
fs::path partial_copy(const fs::path& from, const fs::path& to, const std::set<std::string>& shards,
                      bool with_manifest, fs::path shards_from = {}) {
  if (shards_from.empty()) shards_from = from;
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".safetensors") continue;
    if (name == kManifestFile && !with_manifest) continue;
    fs::copy_file(entry.path(), to / name);
  }
  for (const auto& s : shards) fs::copy_file(shards_from / s, to / s);
  return to;
}

std::string manifest_id(const fs::path& model) {
  const CommandResult r = brigade({"manifest", "--model", model.string(), "--json"});
  if (r.exit_code != 0) throw std::runtime_error("manifest failed: " + describe(r));
  return nlohmann::json::parse(r.out).at("model_id").get<std::string>();
}

TEST(Identity, ServerWithOtherWeightsIsNamedAndRoutedAround) {
  TempDir dir("brigade-identity");
  const auto ours = make_small_model(dir, options(), "ours");
  const auto theirs = make_small_model(dir, options(6, 7), "theirs");  // same config
  const std::string our_id = manifest_id(ours);
  const auto reference = reference_run(ours, kPrompt, kNewTokens);

  const auto swarm = start_swarm(ours, {{0, 3, {"--model-name", "our-llama"}}}, dir / "logs");
  const std::string dht = swarm->dht_address();
  LoneServer other(theirs, "3:6", dht, dir / "logs" / "theirs.log");
  const std::string other_peer = peer_of(other.address);

  // Blocks 3-5 exist only with other weights: refused, naming that server.
  const CommandResult refused = failed_generate(ours, dht);
  expect_contains(refused.err, "blocks [3, 4, 5]", refused);
  expect_contains(refused.err,
                  "server " + other_peer + " at " + other.address +
                      " holds other weights for blocks [3, 6): digest ",
                  refused);

  // `status` lists both models, under their ids, with the name given.
  const auto status = swarm_status(dht);
  const auto our_entry = find_server(status, swarm->server_address(0));
  const auto their_entry = find_server(status, other.address);
  ASSERT_FALSE(our_entry.is_null()) << status.dump(2);
  ASSERT_FALSE(their_entry.is_null()) << status.dump(2);
  EXPECT_EQ(our_entry.at("model"), our_id);
  EXPECT_EQ(our_entry.at("model_name"), "our-llama");
  EXPECT_EQ(our_entry.at("weight_format"), "f32");
  EXPECT_EQ(our_entry.at("block_digests").size(), 3u);
  EXPECT_NE(their_entry.at("model"), our_id);
  const CommandResult table = brigade({"status", "--initial-peers", dht});
  ASSERT_EQ(table.exit_code, 0) << describe(table);
  expect_contains(table.out, "MODEL", table);
  expect_contains(table.out, "our-llama", table);

  // With a server of our weights for blocks 3-5, the route goes around the other.
  swarm->add_server({3, 6, {}});
  const Generation g = swarm_generate(ours, dht, kPrompt, kNewTokens, Output::kJson);
  EXPECT_EQ(g.ids, reference.ids);
  EXPECT_FALSE(route_has_peer(g.route, other_peer)) << g.route.dump();
  expect_tiles(g.route, 0, 6);
}

TEST(Identity, ClientWithFewerLayersIsRefused) {
  TempDir dir("brigade-identity");
  const auto eight = make_small_model(dir, options(8), "eight");
  // Same seed: its 6 blocks are the first 6 of the 8-block model.
  const auto six = make_small_model(dir, options(6), "six");
  const auto swarm = start_swarm(eight, even_spans(8, 2), dir / "logs");
  const CommandResult refused = failed_generate(six, swarm->dht_address());
  expect_contains(refused.err, "blocks [0, 1, 2, 3, 4, 5]", refused);
  expect_contains(refused.err, "of 8 blocks; this checkpoint has 6 blocks", refused);
  expect_contains(refused.err, "server " + peer_of(swarm->server_address(0)), refused);
}

TEST(Identity, PartialClientGeneratesLikeTheFullCheckpoint) {
  TempDir dir("brigade-identity");
  MakeModelOptions o = options(6, 0, 8);
  o.tokenizer = true;
  const auto full = make_small_model(dir, o, "full");
  const std::string id = manifest_id(full);
  ASSERT_TRUE(fs::exists(full / kManifestFile));
  const auto head_shards = shards_of(full, {"model.embed_tokens.", "model.norm.", "lm_head."});
  ASSERT_LT(head_shards.size(), 8u);
  const auto absent = shards_of(full, {"model.layers.3."});
  for (const auto& s : absent) ASSERT_EQ(head_shards.count(s), 0u) << s;

  const auto client = partial_copy(full, dir.path() / "client", head_shards, true);
  const auto bare = partial_copy(full, dir.path() / "bare", head_shards, false);
  const Prompt text = text_prompt("The cat sat on the mat");
  const auto reference = reference_run(full, text, kNewTokens);
  const auto swarm = start_swarm(full, even_spans(6, 2), dir / "logs");
  const std::string dht = swarm->dht_address();

  const Generation from_full = swarm_generate(full, dht, text, kNewTokens, Output::kJson);
  const Generation from_partial = swarm_generate(client, dht, text, kNewTokens, Output::kJson);
  EXPECT_EQ(from_full.ids, reference.ids);
  EXPECT_EQ(from_partial.ids, reference.ids);
  EXPECT_EQ(nlohmann::json::parse(from_partial.raw.out).at("model").at("id"), id);

  // Without the manifest the client cannot know the model: refused, naming
  // an absent shard.
  const CommandResult refused =
      brigade(generate_args(bare, dht, text, kNewTokens, Output::kJson, {"--wait-for-swarm", "3"}));
  EXPECT_NE(refused.exit_code, 0) << describe(refused);
  expect_contains(refused.err, bare.string() + " lacks shards [", refused);
  expect_contains(refused.err, *absent.begin(), refused);
  expect_contains(refused.err, "has no brigade-manifest.json", refused);
  // `brigade manifest` needs every shard too.
  const CommandResult cli = brigade({"manifest", "--model", bare.string()});
  EXPECT_NE(cli.exit_code, 0) << describe(cli);
  expect_contains(cli.err, "lacks shards", cli);
}

TEST(Identity, ServerWithAManifestOfOtherWeightsRefusesToStart) {
  TempDir dir("brigade-identity");
  const auto ours = make_small_model(dir, options(6, 0, 8), "ours");
  const auto theirs = make_small_model(dir, options(6, 7, 8), "theirs");
  manifest_id(ours);
  // Their shards of blocks 0 and 1, shipped with our manifest.
  const auto server_dir =
      partial_copy(ours, dir.path() / "server",
                   shards_of(theirs, {"model.layers.0.", "model.layers.1."}), true, theirs);
  const CommandResult r = brigade({"server", "--model", server_dir.string(), "--blocks", "0:2",
                                   "--initial-peers", "127.0.0.1:9"},
                                  60s);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  expect_contains(r.err, "the weights of block 0, block 1 in " + server_dir.string(), r);
  expect_contains(r.err, "differ from its brigade-manifest.json", r);
}

TEST(Identity, ManifestCliWritesTheIdAndIgnoresIndentation) {
  TempDir dir("brigade-identity");
  const auto model = make_small_model(dir, options());
  const CommandResult r = brigade({"manifest", "--model", model.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  nlohmann::json manifest;
  std::ifstream(model / kManifestFile) >> manifest;
  const std::string id = manifest.at("model_id");
  expect_contains(r.out, "model " + id + ": 6 blocks", r);
  EXPECT_EQ(manifest.at("blocks").size(), 6u);

  nlohmann::json config;
  std::ifstream(model / "config.json") >> config;
  std::ofstream(model / "config.json", std::ios::trunc) << config.dump(1) << "\n";
  EXPECT_EQ(manifest_id(model), id);
}

}  // namespace
}  // namespace brigade::test
