#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

namespace brigade::test {
namespace {

TEST(Utf8, IncompleteTailIsOnlyAStartedCharacter) {
  EXPECT_EQ(utf8::incomplete_tail(""), 0u);
  EXPECT_EQ(utf8::incomplete_tail("abc"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("a\xC3\xA9"), 0u);      // é complete
  EXPECT_EQ(utf8::incomplete_tail("a\xC3"), 1u);          // é started
  EXPECT_EQ(utf8::incomplete_tail("a\xF0\x9F\x98"), 3u);  // 😀 missing its last byte
  EXPECT_EQ(utf8::incomplete_tail("a\x98"), 0u);          // a stray continuation byte
  EXPECT_EQ(utf8::incomplete_tail("a\xE0\x80"), 0u);      // an overlong form never completes
}

TEST(Utf8, RepairReplacesEachMaximalBadPart) {
  EXPECT_EQ(utf8::repair("ok"), "ok");
  EXPECT_EQ(utf8::repair("a\xF0\x9F\x98z"), "a\xEF\xBF\xBDz");  // one cut character, one U+FFFD
  EXPECT_EQ(utf8::repair("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::repair("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(utf8::first_invalid("ab\xC3"), 2u);
  EXPECT_EQ(utf8::first_invalid("ab\xC3\xA9"), std::string_view::npos);
}

TEST(Utf8, WhitespaceIsUnicodeWhiteSpace) {
  for (char32_t cp : {U' ', U'\t', U'\n', U'\r', U'\u00A0', U'\u2003', U'\u3000', U'\u2028'})
    EXPECT_TRUE(utf8::is_whitespace(cp)) << static_cast<uint32_t>(cp);
  for (char32_t cp : {U'a', U'_', U'\u200B', U'\u00E9'})
    EXPECT_FALSE(utf8::is_whitespace(cp)) << static_cast<uint32_t>(cp);
}

}  // namespace
}  // namespace brigade::test
