#include "tokenizer/streaming_decoder.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tokenizer/tokenizer.h"

namespace brigade::test {
namespace {

std::unique_ptr<Tokenizer> open_fixture(const std::string& name) {
  return Tokenizer::open(std::filesystem::path(BRIGADE_SHARED_DIR) / "tokenizers" / name);
}

TEST(StreamingDecoder, HoldsBackACharacterSplitAcrossTokens) {
  const auto tokenizer = open_fixture("llama3");
  ASSERT_NE(tokenizer, nullptr);
  // "emoji 😀🎉": 🎉 is three byte-level tokens (9468, 236, 231).
  StreamingDecoder stream(*tokenizer);
  EXPECT_EQ(stream.push(38623), "emoji");
  EXPECT_EQ(stream.push(91416), " 😀");
  EXPECT_EQ(stream.push(9468), "");
  EXPECT_EQ(stream.push(236), "");
  EXPECT_EQ(stream.push(231), "🎉");
  EXPECT_EQ(stream.finish(), "");
  EXPECT_EQ(stream.text(), "emoji 😀🎉");
}

TEST(StreamingDecoder, FlushesAnUnfinishedCharacterAsReplacement) {
  const auto tokenizer = open_fixture("llama3");
  StreamingDecoder stream(*tokenizer);
  EXPECT_EQ(stream.push(64), "a");
  EXPECT_EQ(stream.push(9468), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.text(), "a\xEF\xBF\xBD");
}

TEST(StreamingDecoder, ByteFallbackTokensAndSpecialTokens) {
  const auto tokenizer = open_fixture("llama2");
  StreamingDecoder stream(*tokenizer);
  // "▁", then U+1D11E as four <0xNN> tokens, then </s> (not shown).
  std::string shown;
  for (int32_t id : {28705, 243, 160, 135}) {
    const auto piece = stream.push(id);
    EXPECT_EQ(piece.find('\xEF'), std::string::npos) << "a replacement character was shown";
    shown += piece;
  }
  shown += stream.push(161);
  shown += stream.push(2);
  shown += stream.finish();
  // The decoder strips the leading space of the whole text.
  EXPECT_EQ(shown, "𝄞");
  EXPECT_EQ(stream.text(), "𝄞");
}

}  // namespace
}  // namespace brigade::test
