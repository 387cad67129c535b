#include "model/checkpoint.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/expect_error.h"
#include "common/test_util.h"
#include "model/block_span.h"
#include "model/config.h"
#include "model/model_head.h"
#include "model/weights.h"
#include "util/error.h"

namespace brigade::test {
namespace {

namespace fs = std::filesystem;

// Writes a safetensors file by hand: the given header JSON, then `data`.
void write_raw(const fs::path& path, const std::string& header, const std::string& data,
               uint64_t declared_length = 0) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t length = declared_length ? declared_length : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(length >> (8 * i)));
  out << header << data;
}

TEST(Conversions, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1.0p-8f), 0x3F80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: goes up.
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1.0p-8f), 0x3F82);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1.0p-8f + 0x1.0p-20f), 0x3F81);  // above half: up
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC0A0), -5.0f);
}

TEST(Conversions, F16RoundsAndHandlesSpecialValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);  // largest finite
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);  // below the halfway point
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // rounds to infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(f32_to_f16(1.0f + 0x1.0p-11f), 0x3C00);      // tie to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1.0p-11f), 0x3C02);  // tie to even (up)
  EXPECT_EQ(f32_to_f16(0x1.0p-24f), 0x0001);             // smallest subnormal
  EXPECT_EQ(f32_to_f16(0x1.0p-25f), 0x0000);             // half of it: tie to even 0
  EXPECT_EQ(f32_to_f16(0x1.8p-24f), 0x0002);             // 1.5 ulp: tie to even 2
  EXPECT_EQ(f32_to_f16(0x1.0p-14f), 0x0400);             // smallest normal
  EXPECT_EQ(f32_to_f16(0x1.ff8p-15f), 0x03FF);           // largest subnormal
  EXPECT_EQ(f32_to_f16(0x1.ffcp-15f), 0x0400);           // tie rounds up into the normals
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::nanf("")))));
  EXPECT_EQ(f16_to_f32(0x0001), 0x1.0p-24f);
  EXPECT_EQ(f16_to_f32(0x03FF), 1023 * 0x1.0p-24f);
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xC500), -5.0f);
  // Every finite f16 survives f16 -> f32 -> f16.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << h;
  }
}

#ifdef __FLT16_MAX__
// The compiler's _Float16 conversion is an independent reference.
TEST(Conversions, F16MatchesTheCompilersConversion) {
  uint64_t state = 12345;
  for (int i = 0; i < 2000000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto bits = static_cast<uint32_t>(state >> 32);
    const float value = std::bit_cast<float>(bits);
    if (std::isnan(value)) continue;
    const uint16_t expected = std::bit_cast<uint16_t>(static_cast<_Float16>(value));
    ASSERT_EQ(f32_to_f16(value), expected) << std::hexfloat << value;
  }
}
#endif

TEST(Checkpoint, DTypeNamesParsingAndSizes) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
    EXPECT_EQ(dtype_from_short_name(dtype_short_name(dtype)), dtype);
    EXPECT_EQ(parse_dtype(dtype_name(dtype)), dtype);
    EXPECT_EQ(parse_dtype(dtype_short_name(dtype)), dtype);
    EXPECT_EQ(parse_dtype(torch_dtype_name(dtype)), dtype);
  }
  EXPECT_STREQ(dtype_name(DType::BF16), "BF16");
  EXPECT_STREQ(dtype_short_name(DType::BF16), "bf16");
  EXPECT_STREQ(torch_dtype_name(DType::BF16), "bfloat16");
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  // Safetensors and wire names are exact; users may write any case.
  EXPECT_FALSE(dtype_from_name("bf16").has_value());
  EXPECT_FALSE(dtype_from_name("I64").has_value());
  EXPECT_FALSE(dtype_from_short_name("BF16").has_value());
  EXPECT_EQ(parse_dtype("BFloat16"), DType::BF16);
  expect_error([] { parse_dtype("f8"); }, {"unsupported dtype 'f8'"});
}

TEST(Checkpoint, WritesAndReadsEveryDtypeAndShards) {
  TempDir dir;
  std::vector<TensorToWrite> tensors = {{"a", {2, 3}, {1, -2, 3.5f, 0.1f, 1e-3f, 7}},
                                        {"b", {4}, {0.5f, 0.25f, -8, 100}},
                                        {"c", {1, 1, 2}, {3, 4}}};
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (int shards : {1, 2, 3}) {
      const auto path = dir / fmt::format("{}-{}", dtype_name(dtype), shards);
      write_safetensors(path, tensors, dtype, shards);
      EXPECT_EQ(fs::exists(path / "model.safetensors.index.json"), shards > 1);
      const auto checkpoint = Checkpoint::open(path);
      for (const auto& t : tensors) {
        ASSERT_TRUE(checkpoint->has(t.name));
        EXPECT_EQ(checkpoint->info(t.name).dtype, dtype);
        const auto values = checkpoint->load(t.name, t.shape);
        ASSERT_EQ(values.size(), t.data.size());
        for (size_t i = 0; i < values.size(); ++i) {
          const float expected = dtype == DType::F32    ? t.data[i]
                                 : dtype == DType::BF16 ? bf16_to_f32(f32_to_bf16(t.data[i]))
                                                        : f16_to_f32(f32_to_f16(t.data[i]));
          EXPECT_EQ(values[i], expected) << t.name << "[" << i << "]";
        }
      }
      if (shards > 1) {
        std::set<std::string> files;
        for (const auto& t : tensors) files.insert(checkpoint->info(t.name).file);
        EXPECT_EQ(files.size(), static_cast<size_t>(shards));
      }
    }
  }
}

TEST(Checkpoint, ANanOrInfinityInAWeightIsRefusedNamingTheTensorAndElement) {
  TempDir dir;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> matrix(4 * 64, 0.5f);
  matrix[70] = nan;
  const std::vector<TensorToWrite> tensors = {
      {"norm", {4}, {1, -inf, 3, 4}}, {"proj", {4, 64}, matrix}, {"fine", {2}, {65504, -1e-8f}}};
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    const auto path = dir / dtype_name(dtype);
    write_safetensors(path, tensors, dtype, 1);
    const auto checkpoint = Checkpoint::open(path);
    expect_error([&] { checkpoint->load("norm", {4}); },
                 {"tensor 'norm' holds a NaN or infinity (element 1 of 4)", path.string()});
    for (auto quant : {kernels::Quant::kNone, kernels::Quant::kInt8, kernels::Quant::kInt4}) {
      expect_error([&] { load_matrix(*checkpoint, "proj", 4, 64, quant); },
                   {"tensor 'proj' holds a NaN or infinity (element 70 of 256)"});
    }
    // The largest finite f16 and a value that underflows are fine.
    EXPECT_EQ(checkpoint->load("fine", {2}).size(), 2u) << dtype_name(dtype);
  }
}

TEST(Checkpoint, FileLayoutFollowsTheSafetensorsFormat) {
  TempDir dir;
  write_safetensors(dir.path(), {{"w", {2}, {1.0f, -2.0f}}}, DType::BF16, 1);
  std::ifstream in(dir / "model.safetensors", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + length) % 8, 0u);  // data aligned as the reference writer does
  const auto header = nlohmann::json::parse(bytes.substr(8, length));
  EXPECT_EQ(header["w"]["dtype"], "BF16");
  EXPECT_EQ(header["w"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json::array({0, 4}));
  const std::string data = bytes.substr(8 + length);
  ASSERT_EQ(data.size(), 4u);
  // Little-endian bf16 1.0 = 0x3F80, -2.0 = 0xC000.
  EXPECT_EQ(static_cast<uint8_t>(data[0]), 0x80);
  EXPECT_EQ(static_cast<uint8_t>(data[1]), 0x3F);
  EXPECT_EQ(static_cast<uint8_t>(data[2]), 0x00);
  EXPECT_EQ(static_cast<uint8_t>(data[3]), 0xC0);
}

TEST(Checkpoint, MissingFilesNameTheDirectory) {
  TempDir dir;
  expect_error([&] { Checkpoint::open(dir.path()); }, {dir.path().string(), "model.safetensors"});
  // An index none of whose shards is there.
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"weight_map": {"x": "model-00001-of-00002.safetensors"}})";
  expect_error([&] { Checkpoint::open(dir.path()); }, {"model-00001-of-00002.safetensors"});
}

TEST(Checkpoint, APartialCheckpointNamesTheMissingShardOfATensorAskedFor) {
  TempDir dir;
  write_safetensors(
      dir.path(),
      {{"a", {8}, std::vector<float>(8, 1.0f)}, {"b", {8}, std::vector<float>(8, 2.0f)}},
      DType::F32, 2);
  fs::remove(dir / "model-00002-of-00002.safetensors");
  const auto checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(checkpoint->load("a", {8}), std::vector<float>(8, 1.0f));
  expect_error([&] { checkpoint->load("b", {8}); }, {"'b'", "model-00002-of-00002.safetensors"});
}

TEST(Checkpoint, TruncatedFileIsRejectedNamingTheFile) {
  TempDir dir;
  write_safetensors(dir.path(), {{"w", {64}, std::vector<float>(64, 1.0f)}}, DType::F32, 1);
  const auto file = dir / "model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 10);
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "'w'", "truncated"});
  fs::resize_file(file, 20);  // inside the header
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "truncated"});
  fs::resize_file(file, 3);  // not even the length
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "truncated"});
}

TEST(Checkpoint, MalformedHeadersAreRejected) {
  TempDir dir;
  const auto file = dir / "model.safetensors";
  write_raw(file, "{not json", "");
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "malformed"});
  // Byte count disagrees with the shape.
  write_raw(file, R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})",
            std::string(8, '\0'));
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "'w'", "shape"});
  // Header length larger than the file.
  write_raw(file, "{}", "", 1000);
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "header length 1000"});
}

TEST(Checkpoint, UnsupportedDtypeNamesFileAndTensor) {
  TempDir dir;
  const auto file = dir / "model.safetensors";
  write_raw(file, R"({"ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})",
            std::string(8, '\0'));
  expect_error([&] { Checkpoint::open(dir.path()); }, {file.string(), "'ids'", "I64"});
}

TEST(Checkpoint, MissingTensorAndWrongShapeAreNamed) {
  TempDir dir;
  write_safetensors(dir.path(), {{"w", {2, 3}, std::vector<float>(6, 1.0f)}}, DType::F32, 1);
  const auto checkpoint = Checkpoint::open(dir.path());
  expect_error(
      [&] {
        checkpoint->load("missing.weight", {2, 3});
      },
      {"missing.weight", dir.path().string()});
  expect_error([&] { checkpoint->load("w", {3, 2}); }, {"'w'", "[2, 3]", "[3, 2]"});
}

TEST(Checkpoint, ModelLoadersNameMissingAndMisshapenTensors) {
  TempDir dir;
  auto options = small_model_options();
  options.tokenizer = false;
  const auto path = make_small_model(dir, options);
  const auto config = ModelConfig::load(path);
  const auto checkpoint = Checkpoint::open(path);

  // A config that wants biases the checkpoint does not have.
  auto biased = config;
  biased.attention_bias = true;
  expect_error([&] { BlockSpan(biased, *checkpoint, 0, 1); },
               {"model.layers.0.self_attn.q_proj.bias", path.string()});
  // A config with a bigger MLP than the weights.
  auto wider = config;
  wider.intermediate_size += 1;
  expect_error([&] { BlockSpan(wider, *checkpoint, 1, 2); },
               {"model.layers.1.mlp.gate_proj.weight", "expected"});
  // Untied config on a tied checkpoint lacks lm_head.
  auto tied_options = options;
  tied_options.tied = true;
  const auto tied_path = make_small_model(dir, tied_options, "tied");
  const auto tied_checkpoint = Checkpoint::open(tied_path);
  auto untied = ModelConfig::load(tied_path);
  untied.tie_word_embeddings = false;
  expect_error([&] { ModelHead(untied, *tied_checkpoint); }, {"lm_head.weight"});
}

TEST(Checkpoint, LoadsOnlyWhatIsAskedAndMapsLazily) {
  TempDir dir;
  auto options = small_model_options();
  options.tokenizer = false;
  options.shards = 3;
  const auto path = make_small_model(dir, options);
  const auto config = ModelConfig::load(path);
  const auto checkpoint = Checkpoint::open(path);
  // Corrupt the shard that holds the last block's MLP after opening: a span
  // of block 0 never touches it (and so never notices).
  const auto last_file = checkpoint->info("model.layers.1.mlp.down_proj.weight").file;
  ASSERT_NE(last_file, checkpoint->info("model.layers.0.input_layernorm.weight").file);
  fs::resize_file(path / last_file, 16);
  EXPECT_NO_THROW(BlockSpan(config, *checkpoint, 0, 1));
  EXPECT_THROW(BlockSpan(config, *checkpoint, 1, 2), Error);
}

}  // namespace
}  // namespace brigade::test
