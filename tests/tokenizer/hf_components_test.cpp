// tokenizer.json components on small hand-written files: added-token
// matching (lstrip, rstrip, normalized), the BPE options, and the refusal of
// every component or option that is not implemented.
//
// Expected ids of the added-token cases were checked with transformers.js
// 4.3.1 (`new PreTrainedTokenizer(tokenizerJson, tokenizerConfig)`,
// `encode(text, {add_special_tokens: false})`) on the same file.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace brigade::test {
namespace {

using Ids = std::vector<int32_t>;
using nlohmann::json;

json added(int id, const std::string& content, bool lstrip, bool rstrip, bool normalized) {
  return {
      {"id", id},         {"content", content},       {"single_word", false},  {"lstrip", lstrip},
      {"rstrip", rstrip}, {"normalized", normalized}, {"special", !normalized}};
}

// A tokenizer with no pre-tokenizer: characters, one merge ("a b"), <unk>,
// and three added tokens: <l> (lstrip), <r> (rstrip), <n> (normalized; the
// normalizer writes it for X).
json small_tokenizer() {
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens",
           {added(6, "<l>", true, false, false), added(7, "<r>", false, true, false),
            added(8, "<n>", false, false, true)}},
          {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", "X"}}}, {"content", "<n>"}}},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", "<unk>"},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"vocab", {{"<unk>", 0}, {"a", 1}, {"b", 2}, {" ", 3}, {"ab", 4}, {"\n", 5}}},
            {"merges", {"a b"}}}}};
}

std::unique_ptr<Tokenizer> open_json(const TempDir& dir, const json& tokenizer,
                                     const json& config = json::object()) {
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  return Tokenizer::open(dir.path());
}

TEST(HfComponents, AddedTokensStripAndMatchInNormalizedText) {
  TempDir dir;
  const auto tokenizer = open_json(dir, small_tokenizer());
  const std::vector<std::pair<std::string, Ids>> cases = {
      {"a <l> b", {1, 6, 3, 2}},  // <l> takes the space before it only
      {"a  <l>b", {1, 6, 2}},     // ... all of it
      {"<l>a", {6, 1}},
      {"a <r> b", {1, 3, 7, 2}},  // <r> takes the space after it only
      {"a<r>\n\nb", {1, 7, 2}},   // newlines are whitespace too
      {"a <l> <r>  b", {1, 6, 3, 7, 2}},
      {"aXb", {1, 8, 2}},  // X becomes <n> in the normalized text
      {"a<n>b", {1, 8, 2}},
      {"ab ab", {4, 3, 4}},
      {"a??b", {1, 0, 0, 2}},  // unknown characters: one <unk> each
  };
  for (const auto& [text, ids] : cases) EXPECT_EQ(tokenizer->encode(text, false), ids) << text;
  // No decoder: tokens joined by spaces, as Hugging Face does.
  EXPECT_EQ(tokenizer->decode(Ids{1, 6, 2}), "a <l> b");
  EXPECT_EQ(tokenizer->decode(Ids{1, 6, 2}, true), "a b");
  EXPECT_EQ(tokenizer->id_of("<r>"), 7);
  EXPECT_EQ(tokenizer->id_of("ab"), 4);
  EXPECT_EQ(tokenizer->id_of("zz"), std::nullopt);
}

TEST(HfComponents, FuseUnkAndIgnoreMerges) {
  TempDir dir;
  auto spec = small_tokenizer();
  spec["model"]["fuse_unk"] = true;
  EXPECT_EQ(open_json(dir, spec)->encode("a??b", false), (Ids{1, 0, 2}));
  // ignore_merges: a word in the vocabulary is one token, whatever the merges say.
  spec = small_tokenizer();
  spec["model"]["vocab"]["bb"] = 9;
  spec["model"]["vocab"]["abb"] = 10;
  spec["model"]["merges"] = {"a b", "b b", "a bb"};
  EXPECT_EQ(open_json(dir, spec)->encode("abb", false), (Ids{4, 2}));
  spec["model"]["ignore_merges"] = true;
  EXPECT_EQ(open_json(dir, spec)->encode("abb", false), (Ids{10}));
}

TEST(HfComponents, ConfigDecidesBosAndEos) {
  TempDir dir;
  auto spec = small_tokenizer();
  spec["added_tokens"].push_back(added(11, "<s>", false, false, false));
  spec["added_tokens"].push_back(added(12, "</s>", false, false, false));
  // A template adds <s>...
  spec["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair", json::array()},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {11}}, {"tokens", {"<s>"}}}}}}};
  auto tokenizer =
      open_json(dir, spec, {{"bos_token", "<s>"}, {"eos_token", {{"content", "</s>"}}}});
  EXPECT_EQ(tokenizer->encode("ab", true), (Ids{11, 4}));
  EXPECT_EQ(tokenizer->bos_id(), 11);
  EXPECT_EQ(tokenizer->eos_id(), 12);
  EXPECT_TRUE(tokenizer->adds_bos());
  // ...unless tokenizer_config.json says otherwise.
  tokenizer = open_json(dir, spec,
                        {{"bos_token", "<s>"},
                         {"eos_token", "</s>"},
                         {"add_bos_token", false},
                         {"add_eos_token", true}});
  EXPECT_EQ(tokenizer->encode("ab", true), (Ids{4, 12}));
  EXPECT_FALSE(tokenizer->adds_bos());
  EXPECT_TRUE(tokenizer->adds_eos());
  EXPECT_THROW(open_json(dir, spec, {{"bos_token", "<nope>"}}), Error);
  EXPECT_THROW(open_json(dir, spec, {{"add_eos_token", true}}), Error);  // no eos_token
}

// Opening `spec` fails with a message that contains `expected`.
void expect_refused(const json& spec, const std::string& expected,
                    const json& config = json::object()) {
  TempDir dir;
  try {
    open_json(dir, spec, config);
    ADD_FAILURE() << "no error for " << expected;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(HfComponents, RefusesWhatItDoesNotImplementByName) {
  auto spec = small_tokenizer();
  spec["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}};
  expect_refused(spec, "pre_tokenizer type 'Metaspace' is not supported");

  spec = small_tokenizer();
  spec["pre_tokenizer"] = {{"type", "Split"},
                           {"pattern", {{"Regex", "\\s"}}},
                           {"behavior", "MergedWithPrevious"},
                           {"invert", false}};
  expect_refused(spec, "Split behavior 'MergedWithPrevious'");

  spec = small_tokenizer();
  spec["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "ByteLevel"}, {"add_prefix_space", false}},
                             {{"type", "Digits"}, {"individual_digits", true}}}}};
  expect_refused(spec, "pre_tokenizer 'Digits' after ByteLevel");

  spec = small_tokenizer();
  spec["normalizer"] = {{"type", "Lowercase"}};
  expect_refused(spec, "normalizer type 'Lowercase' is not supported");

  spec = small_tokenizer();
  spec["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
  expect_refused(spec, "decoder type 'WordPiece' is not supported");

  spec = small_tokenizer();
  spec["post_processor"] = {{"type", "RobertaProcessing"}};
  expect_refused(spec, "post_processor type 'RobertaProcessing' is not supported");

  spec = small_tokenizer();
  spec["model"]["type"] = "Unigram";
  expect_refused(spec, "model type 'Unigram' is not supported");

  spec = small_tokenizer();
  spec["model"]["dropout"] = 0.1;
  expect_refused(spec, "'dropout' is not supported");

  spec = small_tokenizer();
  spec["model"]["continuing_subword_prefix"] = "##";
  expect_refused(spec, "'continuing_subword_prefix' is not supported");

  spec = small_tokenizer();
  spec["added_tokens"][0]["single_word"] = true;
  expect_refused(spec, "added token '<l>' uses single_word=true");

  spec = small_tokenizer();
  spec["truncation"] = {{"max_length", 8}};
  expect_refused(spec, "'truncation' is not supported");

  spec = small_tokenizer();
  spec["model"]["merges"] = {"a c"};
  expect_refused(spec, "merge 0 ('a' + 'c') uses a token missing from the vocabulary");

  spec = small_tokenizer();
  spec["pre_tokenizer"] = {{"type", "Split"},
                           {"pattern", {{"Regex", "(unclosed"}}},
                           {"behavior", "Isolated"},
                           {"invert", false}};
  expect_refused(spec, "regex '(unclosed' does not compile");

  expect_refused(small_tokenizer(), "split_special_tokens=true is not supported",
                 {{"split_special_tokens", true}});
}

TEST(HfComponents, GptStyleByteLevelWithItsOwnRegex) {
  // ByteLevel alone (use_regex: GPT-2's pattern) with a prefix space: the
  // vocabulary is the 256 byte characters plus "Ġa" and "Ġab".
  // Printable bytes stand for themselves, the others for U+0100 onwards;
  // byte b gets id b.
  json vocab = json::object();
  int next = 256, id = 0;
  std::map<int, std::string> byte_char;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
    std::string utf8;
    if (cp < 0x80) {
      utf8 += static_cast<char>(cp);
    } else {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    }
    byte_char[b] = utf8;
    vocab[utf8] = id++;
  }
  const std::string space = byte_char[' '];
  vocab[space + "a"] = 256;
  vocab[space + "ab"] = 257;
  json spec = {
      {"added_tokens", json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}, {"trim_offsets", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {space + " a", space + "a b"}}}}};
  TempDir dir;
  const auto tokenizer = open_json(dir, spec);
  // "ab ab" -> " ab" (prefix space added) and " ab".
  EXPECT_EQ(tokenizer->encode("ab ab", false), (Ids{257, 257}));
  EXPECT_EQ(tokenizer->encode("ba", false), (Ids{' ', 'b', 'a'}));
  EXPECT_EQ(tokenizer->decode(Ids{257, 257}), " ab ab");
}

}  // namespace
}  // namespace brigade::test
