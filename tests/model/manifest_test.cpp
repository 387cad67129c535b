// The manifest (issue 8, point 4): the model id depends on the parsed config
// and the tensors' bytes, nothing else; one changed byte changes its block's
// digest and the id; the cache beside the checkpoint is used only while the
// shards are unchanged; a partial checkpoint needs the manifest shipped with
// it, and a manifest of other weights is caught where the tensors are used.

#include "model/manifest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "common/test_util.h"
#include "util/error.h"

namespace brigade::test {
namespace {

namespace fs = std::filesystem;

MakeModelOptions options(int layers = 4, int shards = 1, uint64_t seed = 0) {
  MakeModelOptions o = small_model_options();
  o.layers = layers;
  o.shards = shards;
  o.seed = seed;
  o.tokenizer = false;
  return o;
}

Manifest compute(const fs::path& dir, int threads = 0) {
  return compute_manifest(ModelConfig::load(dir), *Checkpoint::open(dir), threads);
}

Manifest open(const fs::path& dir) {
  const auto checkpoint = Checkpoint::open(dir);
  return open_manifest(dir, ModelConfig::load(dir), *checkpoint);
}

void verify(const Manifest& manifest, const fs::path& dir, const ManifestUse& use) {
  const auto checkpoint = Checkpoint::open(dir);
  verify_manifest(manifest, ModelConfig::load(dir), *checkpoint, use);
}

// Moves a file's mtime forward, so that a change is seen even within the
// file system's timestamp granularity.
void touch_later(const fs::path& file) {
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
}

// Flips the lowest bit of one byte in the middle of `tensor`.
void flip_a_byte(const fs::path& dir, const std::string& tensor) {
  const auto checkpoint = Checkpoint::open(dir);
  const TensorInfo& info = checkpoint->info(tensor);
  const fs::path file = dir / info.file;
  const auto at = static_cast<std::streamoff>(info.offset + info.nbytes / 2);
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char byte = 0;
  f.read(&byte, 1);
  byte ^= 1;
  f.seekp(at);
  f.write(&byte, 1);
  f.close();
  ASSERT_TRUE(f.good()) << file;
  touch_later(file);
}

void expect_error(const std::function<void()>& action, const std::vector<std::string>& needles) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one containing '" << needles.front() << "'";
  } catch (const Error& e) {
    for (const auto& needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << "'" << needle << "' not in: " << e.what();
    }
  }
}

// The shard file that holds `tensor`.
std::string shard_of(const fs::path& dir, const std::string& tensor) {
  return Checkpoint::open(dir)->info(tensor).file;
}

// A new directory with config.json, the index, `shards` and (optionally) the
// manifest of `from`: what a client or a server of a few blocks downloads.
fs::path partial_copy(const fs::path& from, const fs::path& to, const std::set<std::string>& shards,
                      bool with_manifest) {
  fs::create_directories(to);
  fs::copy_file(from / "config.json", to / "config.json");
  fs::copy_file(from / "model.safetensors.index.json", to / "model.safetensors.index.json");
  for (const auto& s : shards) fs::copy_file(from / s, to / s);
  if (with_manifest) fs::copy_file(from / kManifestFile, to / kManifestFile);
  return to;
}

TEST(Manifest, SameContentSameIdWhereverItLives) {
  TempDir dir("brigade-manifest");
  const auto a = make_small_model(dir, options(), "a");
  const auto b = make_small_model(dir, options(), "b");
  const Manifest ma = compute(a), mb = compute(b);
  EXPECT_EQ(ma.model_id(), mb.model_id());
  EXPECT_TRUE(is_digest_hex(ma.model_id())) << ma.model_id();
  ASSERT_EQ(ma.num_blocks(), 4);
  EXPECT_EQ(ma.block_digests, mb.block_digests);
  EXPECT_EQ(ma.head_digest, mb.head_digest);
  // Random weights: every block (and the head) hashes differently.
  std::set<std::string> distinct(ma.block_digests.begin(), ma.block_digests.end());
  distinct.insert(ma.head_digest);
  EXPECT_EQ(distinct.size(), 5u);
  // The thread count changes nothing.
  EXPECT_EQ(compute(a, 1).to_json(), compute(a, 3).to_json());
  // Other weights, same config: every digest and the id differ.
  const auto c = make_small_model(dir, options(4, 1, 7), "c");
  const Manifest mc = compute(c);
  EXPECT_EQ(mc.config, ma.config);
  EXPECT_NE(mc.model_id(), ma.model_id());
  for (int i = 0; i < 4; ++i) EXPECT_NE(mc.block_digests[i], ma.block_digests[i]) << i;
  EXPECT_NE(mc.head_digest, ma.head_digest);
}

TEST(Manifest, OneChangedByteChangesThatBlockAndTheId) {
  TempDir dir("brigade-manifest");
  const auto model = make_small_model(dir, options());
  const Manifest before = compute(model);
  flip_a_byte(model, "model.layers.2.mlp.up_proj.weight");
  const Manifest after = compute(model);
  for (int i = 0; i < 4; ++i) {
    if (i == 2) {
      EXPECT_NE(after.block_digests[i], before.block_digests[i]);
    } else {
      EXPECT_EQ(after.block_digests[i], before.block_digests[i]) << i;
    }
  }
  EXPECT_EQ(after.head_digest, before.head_digest);
  EXPECT_NE(after.model_id(), before.model_id());

  flip_a_byte(model, "model.norm.weight");
  const Manifest head_changed = compute(model);
  EXPECT_EQ(head_changed.block_digests, after.block_digests);
  EXPECT_NE(head_changed.head_digest, after.head_digest);
  EXPECT_NE(head_changed.model_id(), after.model_id());
}

TEST(Manifest, ReindentedConfigAndANameKeepTheId) {
  TempDir dir("brigade-manifest");
  const auto model = make_small_model(dir, options());
  const Manifest original = open(model);
  const auto path = model / "config.json";
  nlohmann::json config;
  std::ifstream(path) >> config;
  config["_name_or_path"] = "someone/renamed-it";
  std::ofstream(path, std::ios::trunc) << config.dump(7) << "\n\n";
  const Manifest reindented = open(model);
  EXPECT_EQ(reindented.model_id(), original.model_id());
  EXPECT_FALSE(reindented.hashed_here) << "the cache is still valid: the config is the same";
  EXPECT_EQ(model_name_of(model), "someone/renamed-it");

  // A config change that matters changes the id (and the cache is not used).
  config["rms_norm_eps"] = 1e-3;
  std::ofstream(path, std::ios::trunc) << config.dump() << "\n";
  const Manifest other = open(model);
  EXPECT_TRUE(other.hashed_here);
  EXPECT_EQ(other.block_digests, original.block_digests);
  EXPECT_NE(other.model_id(), original.model_id());
}

TEST(Manifest, CachedBesideTheCheckpointUntilAShardChanges) {
  TempDir dir("brigade-manifest");
  const auto model = make_small_model(dir, options(4, 3));
  ASSERT_FALSE(fs::exists(model / kManifestFile));
  const Manifest first = open(model);
  EXPECT_TRUE(first.hashed_here);
  ASSERT_TRUE(fs::exists(model / kManifestFile));
  EXPECT_EQ(first.files.size(), 3u);

  const Manifest cached = open(model);
  EXPECT_FALSE(cached.hashed_here);
  EXPECT_EQ(cached.to_json(), first.to_json());

  flip_a_byte(model, "model.layers.1.self_attn.q_proj.weight");
  const Manifest recomputed = open(model);
  EXPECT_TRUE(recomputed.hashed_here);
  EXPECT_NE(recomputed.block_digests[1], first.block_digests[1]);
  EXPECT_NE(recomputed.model_id(), first.model_id());
  nlohmann::json on_disk;
  std::ifstream(model / kManifestFile) >> on_disk;
  EXPECT_EQ(on_disk.at("model_id"), recomputed.model_id());
}

TEST(Manifest, KeptInMemoryWhenItCannotBeCached) {
  TempDir dir("brigade-manifest");
  const auto model = make_small_model(dir, options());
  const std::string expected = compute(model).model_id();
  // A directory where the file should be: nothing can be written there,
  // even by root (for whom a read-only directory is writable).
  fs::create_directory(model / kManifestFile);
  const Manifest manifest = open(model);
  EXPECT_EQ(manifest.model_id(), expected);
  EXPECT_TRUE(fs::is_directory(model / kManifestFile));
  for (const auto& entry : fs::directory_iterator(model)) {
    EXPECT_EQ(entry.path().extension() == ".tmp", false) << "left behind: " << entry.path();
  }
}

TEST(Manifest, PartialCheckpointUsesTheShippedManifest) {
  TempDir dir("brigade-manifest");
  const auto full = make_small_model(dir, options(4, 6));
  const Manifest manifest = open(full);
  const std::set<std::string> head_shards = {shard_of(full, "model.embed_tokens.weight"),
                                             shard_of(full, "model.norm.weight"),
                                             shard_of(full, "lm_head.weight")};
  ASSERT_LT(head_shards.size(), 6u);
  const std::string middle = shard_of(full, "model.layers.2.mlp.down_proj.weight");
  ASSERT_EQ(head_shards.count(middle), 0u) << "the test needs a shard the client lacks";

  const auto bare = partial_copy(full, dir.path() / "bare", head_shards, false);
  expect_error([&] { open(bare); },
               {bare.string() + " lacks shards [", middle, "and has no brigade-manifest.json"});

  const auto client = partial_copy(full, dir.path() / "client", head_shards, true);
  const Manifest shipped = open(client);
  EXPECT_EQ(shipped.model_id(), manifest.model_id());
  EXPECT_FALSE(shipped.hashed_here);
  verify(shipped, client, ManifestUse{true, 0, 0});
  // A block whose shard is absent cannot be checked: the error names the shard.
  expect_error(
      [&] {
        verify(shipped, client, ManifestUse{false, 2, 3});
      },
      {"tensor 'model.layers.2.", "is in shard", "not in checkpoint " + client.string()});
}

TEST(Manifest, ManifestOfOtherWeightsIsCaughtWhereTheTensorsAreUsed) {
  TempDir dir("brigade-manifest");
  const auto ours = make_small_model(dir, options(4, 6), "ours");
  const auto theirs = make_small_model(dir, options(4, 6, 7), "theirs");
  const Manifest our_manifest = open(ours);

  // A partial checkpoint of other weights shipped with our manifest.
  const std::set<std::string> head_shards = {shard_of(theirs, "model.embed_tokens.weight"),
                                             shard_of(theirs, "model.norm.weight"),
                                             shard_of(theirs, "lm_head.weight")};
  const auto client = partial_copy(ours, dir.path() / "client", {}, true);
  for (const auto& s : head_shards) fs::copy_file(theirs / s, client / s);
  const Manifest shipped = open(client);
  expect_error(
      [&] {
        verify(shipped, client, ManifestUse{true, 0, 0});
      },
      {"the embeddings, final norm and LM head", client.string(), "differ from its",
       our_manifest.head_digest});

  // A complete checkpoint of other weights whose shards carry exactly the
  // sizes and mtimes our manifest recorded (copied with their times kept):
  // the cache is trusted, and checking the blocks catches it.
  fs::copy_file(ours / kManifestFile, theirs / kManifestFile);
  for (const auto& [file, stamp] : our_manifest.files) {
    ASSERT_EQ(fs::file_size(theirs / file), stamp.size);
    fs::last_write_time(theirs / file, fs::last_write_time(ours / file));
  }
  const Manifest trusted = open(theirs);
  EXPECT_FALSE(trusted.hashed_here);
  EXPECT_EQ(trusted.model_id(), our_manifest.model_id());
  expect_error(
      [&] {
        verify(trusted, theirs, ManifestUse{false, 1, 3});
      },
      {"block 1, block 2", "block 1: digest ", our_manifest.block_digests[1]});
}

TEST(Manifest, RejectsAnEditedOrMalformedManifest) {
  TempDir dir("brigade-manifest");
  const auto model = make_small_model(dir, options());
  const nlohmann::json good = compute(model).to_json();
  EXPECT_EQ(Manifest::from_json(good, "m").to_json(), good);

  auto edited = good;
  edited["blocks"][1] = std::string(64, '0');
  expect_error([&] { Manifest::from_json(edited, "m.json"); }, {"m.json", "edited"});
  auto short_list = good;
  short_list["blocks"].erase(short_list["blocks"].size() - 1);
  expect_error([&] { Manifest::from_json(short_list, "m.json"); }, {"3 block digests"});
  auto bad_head = good;
  bad_head["head"] = "abc";
  expect_error([&] { Manifest::from_json(bad_head, "m.json"); }, {"'head'"});
  auto other_format = good;
  other_format["format"] = "brigade-manifest-0";
  expect_error([&] { Manifest::from_json(other_format, "m.json"); }, {"'format'"});

  // An unreadable cache is recomputed, not trusted.
  std::ofstream(model / kManifestFile, std::ios::trunc) << "{not json";
  const Manifest recomputed = open(model);
  EXPECT_TRUE(recomputed.hashed_here);
  EXPECT_EQ(recomputed.model_id(), good.at("model_id"));
}

TEST(Manifest, TiedModelsHaveNoLmHeadInTheirHead) {
  TempDir dir("brigade-manifest");
  MakeModelOptions o = options();
  o.tied = true;
  const auto tied = make_small_model(dir, o, "tied");
  const auto untied = make_small_model(dir, options(), "untied");
  const Manifest mt = compute(tied), mu = compute(untied);
  EXPECT_NE(mt.head_digest, mu.head_digest);
  EXPECT_NE(mt.model_id(), mu.model_id());
}

}  // namespace
}  // namespace brigade::test
