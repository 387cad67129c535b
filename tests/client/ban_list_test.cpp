// How long a client avoids a peer depends on what the peer did.

#include "client/ban_list.h"

#include <gtest/gtest.h>

namespace brigade {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kBase{2000};

TEST(BanList, ALiarStaysBannedForTheRun) {
  BanList bans(kBase);
  const auto now = BanList::Clock::now();
  bans.ban("liar", ErrorKind::kMisbehaved, now);
  EXPECT_TRUE(bans.banned("liar", now + std::chrono::hours(1)));
  EXPECT_EQ(std::set<std::string>{"liar"}, bans.excluded(now + std::chrono::hours(1)));
  // A later, milder failure never shortens the ban.
  bans.ban("liar", ErrorKind::kRefused, now + seconds(1));
  EXPECT_TRUE(bans.banned("liar", now + std::chrono::hours(1)));
}

// Routes only go to servers that announce room: a refusal makes a suspect,
// avoided for the run unless nothing else is left, and no timed ban.
TEST(BanList, ARefusalMakesASuspect) {
  BanList bans(kBase);
  const auto now = BanList::Clock::now();
  for (int i = 0; i < 5; ++i) bans.ban("full", ErrorKind::kRefused, now);
  EXPECT_EQ(5, bans.suspicions("full"));
  EXPECT_FALSE(bans.banned("full", now));
  EXPECT_EQ(std::set<std::string>{"full"}, bans.excluded(now + std::chrono::hours(48)));
  EXPECT_TRUE(bans.excluded(now, BanList::kForgiveSuspects).empty());
}

TEST(BanList, RepeatedTimeoutsDoubleTheBan) {
  BanList bans(kBase);
  auto now = BanList::Clock::now();
  bans.ban("slow", ErrorKind::kUnavailable, now);
  EXPECT_FALSE(bans.banned("slow", now + kBase));
  now += kBase;
  bans.ban("slow", ErrorKind::kUnavailable, now);
  EXPECT_TRUE(bans.banned("slow", now + 2 * kBase - milliseconds(1)));
  EXPECT_FALSE(bans.banned("slow", now + 2 * kBase));
  now += 2 * kBase;
  bans.ban("slow", ErrorKind::kInvalid, now);
  EXPECT_TRUE(bans.banned("slow", now + 4 * kBase - milliseconds(1)));
  EXPECT_FALSE(bans.banned("other", now));
  EXPECT_TRUE(bans.excluded(now + 4 * kBase).empty());
}

TEST(BanList, SuspectsAreAvoidedForTheRunUnlessForgiven) {
  BanList bans(kBase);
  const auto now = BanList::Clock::now();
  bans.suspect("staller");
  bans.suspect("staller");
  bans.ban("liar", ErrorKind::kMisbehaved, now);
  EXPECT_EQ(2, bans.suspicions("staller"));
  EXPECT_EQ(0, bans.suspicions("liar"));
  const auto much_later = now + std::chrono::hours(48);
  EXPECT_EQ((std::set<std::string>{"staller"}), bans.excluded(much_later));
  EXPECT_TRUE(bans.excluded(much_later, BanList::kForgiveSuspects).empty());
  EXPECT_EQ((std::set<std::string>{"liar", "staller"}), bans.excluded(now));
  EXPECT_EQ((std::set<std::string>{"liar"}), bans.excluded(now, BanList::kForgiveSuspects));
}

}  // namespace
}  // namespace brigade
