#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "tokenizer/sentencepiece_trainer.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace brigade::test {
namespace {

const char* kCorpus =
    "the cat sat on the mat\nthe dog sat on the log\na cat and a dog met on the road\n"
    "the road was long and the day was warm\nthey sat and talked until the sun went down\n";

TEST(SentencePieceTokenizer, TrainsSmallModelsThatRoundTrip) {
  for (const std::string type : {"bpe", "unigram"}) {
    TempDir dir;
    train_tokenizer(kCorpus, 64, dir.path(), type);
    const auto tokenizer = Tokenizer::open(dir.path());
    ASSERT_NE(tokenizer, nullptr);
    EXPECT_LE(tokenizer->size(), 64);
    const auto ids = tokenizer->encode("the cat sat on the road", true);
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids[0], 1);
    for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], 2) << type;  // no unk/bos/eos
    const std::vector<int32_t> body(ids.begin() + 1, ids.end());
    EXPECT_EQ(tokenizer->decode(body), "the cat sat on the road") << type;
    EXPECT_EQ(tokenizer->encode("the dog", false).size() + 1,
              tokenizer->encode("the dog", true).size());
    EXPECT_EQ(tokenizer->bos_id(), 1);
    EXPECT_EQ(tokenizer->eos_id(), 2);
    EXPECT_TRUE(tokenizer->adds_bos());
    EXPECT_FALSE(tokenizer->adds_eos());
  }
}

TEST(SentencePieceTokenizer, DecodeSkipsIdsBeyondTheTokenizer) {
  TempDir dir;
  train_tokenizer(kCorpus, 64, dir.path());
  const auto tokenizer = Tokenizer::open(dir.path());
  auto ids = tokenizer->encode("the dog", false);
  const auto text = tokenizer->decode(ids);
  ids.insert(ids.begin() + 1, tokenizer->size() + 5);
  EXPECT_EQ(tokenizer->decode(ids), text);
}

TEST(SentencePieceTokenizer, OpenWithoutModelIsNullAndBadModelThrows) {
  TempDir dir;
  EXPECT_EQ(Tokenizer::open(dir.path()), nullptr);
  std::ofstream(dir / "tokenizer.model") << "garbage";
  try {
    Tokenizer::open(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
}

TEST(SentencePieceTokenizer, TokenizerConfigDecidesBos) {
  TempDir dir;
  train_tokenizer(kCorpus, 64, dir.path());
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"add_bos_token": false, "add_eos_token": true, "eos_token": {"content": "</s>"}})";
  const auto tokenizer = Tokenizer::open(dir.path());
  EXPECT_FALSE(tokenizer->adds_bos());
  EXPECT_TRUE(tokenizer->adds_eos());
  const auto ids = tokenizer->encode("the dog", true);
  EXPECT_NE(ids.front(), 1);
  EXPECT_EQ(ids.back(), 2);
  EXPECT_EQ(tokenizer->id_of("</s>"), 2);
  EXPECT_EQ(tokenizer->id_of("no such piece"), std::nullopt);
}

TEST(SentencePieceTokenizer, MakeModelTrainsOneThatFitsTheVocab) {
  TempDir dir;
  auto options = small_model_options();
  options.vocab = 200;
  const auto path = make_small_model(dir, options);
  const auto tokenizer = Tokenizer::open(path);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_LE(tokenizer->size(), 200);
  EXPECT_GT(tokenizer->size(), 100);
  const auto ids = tokenizer->encode("The quick brown fox jumps over the lazy dog.", true);
  EXPECT_EQ(tokenizer->decode({ids.begin() + 1, ids.end()}),
            "The quick brown fox jumps over the lazy dog.");

  options.vocab = 32;
  EXPECT_THROW(make_model(options, dir / "tiny"), Error);
  options.tokenizer = false;
  EXPECT_NO_THROW(make_model(options, dir / "tiny"));
}

}  // namespace
}  // namespace brigade::test
