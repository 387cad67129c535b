// The tokenizer.json implementation on the real Llama 3, Qwen3 and Llama 2
// tokenizers in ../shared/tokenizers.
//
// Expected ids: each list below was produced by transformers.js 4.3.1
// (@huggingface/transformers, a port of Hugging Face tokenizers) on the same
// fixture files, with
//   tok = await AutoTokenizer.from_pretrained(name)   // env.localModelPath = shared/tokenizers
//   tok.encode(text, {add_special_tokens: false})      // and tok.encode(text) for BOS
// and written here literally; the tests also check pieces against the
// vocabulary (id_of) where the expected split is evident by hand.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace brigade::test {
namespace {

using Ids = std::vector<int32_t>;

const Tokenizer& fixture(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    slot = Tokenizer::open(std::filesystem::path(BRIGADE_SHARED_DIR) / "tokenizers" / name);
    EXPECT_NE(slot, nullptr) << name;
  }
  return *slot;
}

struct Case {
  std::string text;
  Ids ids;  // without special tokens
};

// Encodes each case, compares with the reference ids, and checks that
// decoding gives the text back.
void expect_cases(const std::string& name, const std::vector<Case>& cases) {
  const auto& tokenizer = fixture(name);
  for (const auto& c : cases) {
    EXPECT_EQ(tokenizer.encode(c.text, false), c.ids) << name << ": '" << c.text << "'";
    EXPECT_EQ(tokenizer.decode(c.ids), c.text) << name << ": '" << c.text << "'";
  }
}

Ids ids_of(const Tokenizer& tokenizer, const std::vector<std::string>& pieces) {
  Ids ids;
  for (const auto& piece : pieces) {
    const auto id = tokenizer.id_of(piece);
    EXPECT_TRUE(id.has_value()) << piece;
    ids.push_back(id.value_or(-1));
  }
  return ids;
}

TEST(HfTokenizer, OpensTokenizerJsonBeforeTokenizerModel) {
  EXPECT_NE(dynamic_cast<const HfTokenizer*>(&fixture("llama3")), nullptr);
  EXPECT_EQ(fixture("llama3").size(), 128256);
  EXPECT_EQ(fixture("qwen3").size(), 151669);
  EXPECT_EQ(fixture("llama2").size(), 32000);
}

TEST(HfTokenizer, Llama3MatchesReference) {
  expect_cases(
      "llama3",
      {{"Hello world", {9906, 1917}},
       {"Hello, world! How are you?", {9906, 11, 1917, 0, 2650, 527, 499, 30}},
       {"Wait... what?!? (yes) -- no", {14524, 1131, 1148, 27074, 30, 320, 9891, 8, 1198, 912}},
       {"1", {16}},
       {"12345", {4513, 1774}},
       {"1234567", {4513, 10961, 22}},
       {"a  b   c", {64, 220, 293, 256, 272}},
       {"line1\n\nline2\tx \n", {1074, 16, 271, 1074, 17, 10436, 720}},
       {"\t\t", {298}},
       {"I'm sure they'll say DON'T", {40, 2846, 2771, 814, 3358, 2019, 45373, 17773}},
       {"你好，世界", {57668, 53901, 3922, 102616}},
       {"emoji 😀🎉", {38623, 91416, 9468, 236, 231}},
       {"cafe\u0301", {936, 1897, 54939}},  // no normalizer: the accent stays apart
       {"a<|eot_id|>b", {64, 128009, 65}},
       {"<|begin_of_text|>Hi", {128000, 13347}},
       {"", {}}});
}

TEST(HfTokenizer, Llama3SplitsFollowThePattern) {
  const auto& tokenizer = fixture("llama3");
  // Digits go in groups of at most three, left to right.
  EXPECT_EQ(tokenizer.encode("1234567", false), ids_of(tokenizer, {"123", "456", "7"}));
  // A word takes the space before it; punctuation runs stay together.
  EXPECT_EQ(tokenizer.encode("Hello world...", false),
            ids_of(tokenizer, {"Hello", "Ġworld", "..."}));
  // Runs of spaces: all but the last space, which goes with the next word.
  EXPECT_EQ(tokenizer.encode("a   b", false), ids_of(tokenizer, {"a", "ĠĠ", "Ġb"}));
  EXPECT_EQ(tokenizer.encode("\n\n", false), ids_of(tokenizer, {"ĊĊ"}));
}

TEST(HfTokenizer, Llama3SpecialTokensAndBos) {
  const auto& tokenizer = fixture("llama3");
  EXPECT_EQ(tokenizer.id_of("<|eot_id|>"), 128009);
  EXPECT_EQ(tokenizer.token_of(128009), "<|eot_id|>");
  EXPECT_EQ(tokenizer.token_of(9906), "Hello");
  EXPECT_EQ(tokenizer.token_of(128256), std::nullopt);
  EXPECT_EQ(tokenizer.bos_id(), 128000);
  EXPECT_EQ(tokenizer.eos_id(), 128001);
  // This tokenizer.json's post_processor is ByteLevel, not a template, and
  // tokenizer_config.json has no add_bos_token: `tokenizer(text)` adds
  // nothing (transformers.js gives the same ids with and without special
  // tokens).
  EXPECT_FALSE(tokenizer.adds_bos());
  EXPECT_EQ(tokenizer.encode("Hello world", true), (Ids{9906, 1917}));
  // Special tokens are kept by decode() unless skipped.
  const Ids ids{64, 128009, 65};
  EXPECT_EQ(tokenizer.decode(ids, true), "ab");
}

TEST(HfTokenizer, Llama3DecodeCleansUpSpacesAsTransformersDoes) {
  // tokenizer_config.json sets clean_up_tokenization_spaces: true, so, as in
  // transformers, the space before punctuation goes away in decode()...
  const auto& tokenizer = fixture("llama3");
  const auto ids = tokenizer.encode("a , b .", false);
  EXPECT_EQ(tokenizer.decode(ids), "a, b.");
  // ...but not in the raw bytes that streaming uses.
  EXPECT_EQ(tokenizer.decode_bytes(ids, false), "a , b .");
}

TEST(HfTokenizer, Qwen3MatchesReference) {
  expect_cases("qwen3",
               {{"Hello world", {9707, 1879}},
                {"12345", {16, 17, 18, 19, 20}},
                {"a  b\n\n\tc", {64, 220, 293, 271, 1444}},
                {"你好，世界", {108386, 3837, 99489}},
                {"emoji 😀🎉", {37523, 90316, 144841}},
                {"<|im_start|>user\nhi<|im_end|>\n", {151644, 872, 198, 6023, 151645, 198}},
                {"<think>x</think>", {151667, 87, 151668}},
                {"", {}}});
}

TEST(HfTokenizer, Qwen3SplitsDigitsAndComposesAccents) {
  const auto& tokenizer = fixture("qwen3");
  EXPECT_EQ(tokenizer.encode("12345", false), ids_of(tokenizer, {"1", "2", "3", "4", "5"}));
  // NFC: "e" + combining acute is "é"; both spellings give the same ids.
  const Ids reference{924, 58858, 51950};
  EXPECT_EQ(tokenizer.encode("cafe\u0301 caf\u00e9", false), reference);
  EXPECT_EQ(tokenizer.encode("caf\u00e9 caf\u00e9", false), reference);
  EXPECT_EQ(tokenizer.decode(reference), "caf\u00e9 caf\u00e9");
}

TEST(HfTokenizer, Qwen3SpecialTokens) {
  const auto& tokenizer = fixture("qwen3");
  EXPECT_EQ(tokenizer.bos_id(), std::nullopt);
  EXPECT_EQ(tokenizer.eos_id(), 151645);  // <|im_end|>
  EXPECT_EQ(tokenizer.id_of("<|endoftext|>"), 151643);
  EXPECT_FALSE(tokenizer.adds_bos());
  EXPECT_FALSE(tokenizer.adds_eos());
  // <think> is an added token but not a special one: skipping specials keeps it.
  const Ids ids{151644, 872, 151667, 87, 151668, 151645};
  EXPECT_EQ(tokenizer.decode(ids, true), "user<think>x</think>");
}

TEST(HfTokenizer, Llama2MatchesReference) {
  expect_cases("llama2", {{"Hello world", {22557, 1526}},
                          {"  two spaces", {259, 989, 10599}},
                          {"line1\nline2", {1407, 28740, 13, 1081, 28750}},
                          {"12345", {28705, 28740, 28750, 28770, 28781, 28782}},
                          {"你好", {28705, 29383, 29530}},
                          {"emoji 😀", {877, 27813, 28705, 30575}},
                          {"", {}}});
}

TEST(HfTokenizer, Llama2AddsBosAndPrependsToEachSegment) {
  const auto& tokenizer = fixture("llama2");
  EXPECT_TRUE(tokenizer.adds_bos());
  EXPECT_FALSE(tokenizer.adds_eos());
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.encode("Hello world", true), (Ids{1, 22557, 1526}));
  EXPECT_EQ(tokenizer.encode("", true), (Ids{1}));
  // "▁" is prepended to the text on each side of a special token, and the
  // decoder strips only the first one.
  const auto ids = tokenizer.encode("Hello</s>world", false);
  EXPECT_EQ(ids, (Ids{22557, 2, 1526}));
  EXPECT_EQ(ids, ids_of(tokenizer, {"▁Hello", "</s>", "▁world"}));
  EXPECT_EQ(tokenizer.decode(ids), "Hello</s> world");
}

TEST(HfTokenizer, Llama2FallsBackToBytes) {
  const auto& tokenizer = fixture("llama2");
  // U+1D11E (musical G clef) is not in the vocabulary: its four UTF-8 bytes
  // become <0xNN> tokens, after the "▁" the normalizer put first.
  const auto ids = tokenizer.encode("𝄞", false);
  EXPECT_EQ(ids, (Ids{28705, 243, 160, 135, 161}));
  EXPECT_EQ(ids, ids_of(tokenizer, {"▁", "<0xF0>", "<0x9D>", "<0x84>", "<0x9E>"}));
  EXPECT_EQ(tokenizer.decode(ids), "𝄞");
  // A cut character decodes to one U+FFFD per byte, as the ByteFallback
  // decoder of Hugging Face tokenizers does (decoders/byte_fallback.rs; here
  // transformers.js differs and gives one U+FFFD). The raw bytes stay
  // available for streaming.
  const Ids cut{28705, 243, 160};
  EXPECT_EQ(tokenizer.decode(cut), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tokenizer.decode_bytes(cut, false), "\xF0\x9D");
}

TEST(HfTokenizer, RoundTripsText) {
  // Byte-level tokenizers lose nothing; Llama 2's keeps text whose spaces
  // survive its leading-space strip.
  const std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog.",
      "  indented\n\tcode(x) { return x*2; }\r\n",
      "mixed 日本語 text with ✓ marks and 👩‍💻 emoji",
      "numbers 3.14159 and 2,718,281",
      "Привет, мир! Ελληνικά. עברית",
  };
  for (const std::string name : {"llama3", "qwen3", "llama2"}) {
    for (const auto& text : texts) {
      const auto& tokenizer = fixture(name);
      EXPECT_EQ(tokenizer.decode_bytes(tokenizer.encode(text, false), false), text) << name;
    }
  }
}

TEST(HfTokenizer, RefusesInvalidUtf8) {
  try {
    fixture("llama3").encode("ab\xC3", false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace brigade::test
