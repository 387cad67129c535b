#include "model/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "util/error.h"

namespace brigade::test {
namespace {

const char* kCorpus =
    "the cat sat on the mat\nthe dog sat on the log\na cat and a dog met on the road\n"
    "the road was long and the day was warm\nthey sat and talked until the sun went down\n";

TEST(Tokenizer, TrainsSmallModelsThatRoundTrip) {
  for (const std::string type : {"bpe", "unigram"}) {
    TempDir dir;
    train_tokenizer(kCorpus, 64, dir.path(), type);
    const auto tokenizer = Tokenizer::open(dir.path());
    ASSERT_NE(tokenizer, nullptr);
    EXPECT_LE(tokenizer->size(), 64);
    const auto ids = tokenizer->encode("the cat sat on the road", 1);
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids[0], 1);
    for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], 2) << type;  // no unk/bos/eos
    const std::vector<int32_t> body(ids.begin() + 1, ids.end());
    EXPECT_EQ(tokenizer->decode(body), "the cat sat on the road") << type;
    EXPECT_EQ(tokenizer->encode("the dog", -1).size() + 1, tokenizer->encode("the dog", 1).size());
  }
}

TEST(Tokenizer, DecodeSkipsIdsBeyondTheTokenizer) {
  TempDir dir;
  train_tokenizer(kCorpus, 64, dir.path());
  const auto tokenizer = Tokenizer::open(dir.path());
  auto ids = tokenizer->encode("the dog", -1);
  const auto text = tokenizer->decode(ids);
  ids.insert(ids.begin() + 1, tokenizer->size() + 5);
  EXPECT_EQ(tokenizer->decode(ids), text);
}

TEST(Tokenizer, OpenWithoutModelIsNullAndBadModelThrows) {
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

TEST(Tokenizer, MakeModelTrainsOneThatFitsTheVocab) {
  TempDir dir;
  auto options = small_model_options();
  options.vocab = 200;
  const auto path = make_small_model(dir, options);
  const auto tokenizer = Tokenizer::open(path);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_LE(tokenizer->size(), 200);
  EXPECT_GT(tokenizer->size(), 100);
  const auto ids = tokenizer->encode("The quick brown fox jumps over the lazy dog.", 1);
  EXPECT_EQ(tokenizer->decode({ids.begin() + 1, ids.end()}),
            "The quick brown fox jumps over the lazy dog.");

  options.vocab = 32;
  EXPECT_THROW(make_model(options, dir / "tiny"), Error);
  options.tokenizer = false;
  EXPECT_NO_THROW(make_model(options, dir / "tiny"));
}

}  // namespace
}  // namespace brigade::test
