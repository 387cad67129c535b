// Deadlines a client gives servers (client/deadlines.h): derived from the
// announced speed and the round trip, bounded, and doubled per stall.

#include "client/deadlines.h"

#include <gtest/gtest.h>

#include <limits>

namespace brigade {
namespace {

using std::chrono::milliseconds;

TEST(Deadlines, AStepGetsTheFloorPlusRoundTripsPlusSlackTimesItsCompute) {
  Deadlines d;
  d.floor = milliseconds(1000);
  d.slack = 8;
  d.cap = milliseconds(20000);
  // 2 ms per block x 3 blocks x 4 tokens = 24 ms of compute; 10 ms away.
  EXPECT_EQ(milliseconds(1000 + 40 + 8 * 24), d.step(2, 3, 4, 10, 0));
  // A liar's 0.0001 ms per block buys it no more than the floor.
  EXPECT_EQ(milliseconds(1000), d.step(0.0001, 6, 1, 0, 0));
}

TEST(Deadlines, NeverPastTheCapAndDoubledPerStall) {
  Deadlines d;
  d.floor = milliseconds(1000);
  d.cap = milliseconds(5000);
  EXPECT_EQ(milliseconds(5000), d.step(100, 10, 512, 0, 0));  // a long prefill
  EXPECT_EQ(milliseconds(2000), d.step(0, 1, 1, 0, 1));
  EXPECT_EQ(milliseconds(4000), d.step(0, 1, 1, 0, 2));
  EXPECT_EQ(milliseconds(5000), d.step(0, 1, 1, 0, 3));
  d.open = milliseconds(3000);
  EXPECT_EQ(milliseconds(3000), d.open_after(0, 0));
  EXPECT_EQ(milliseconds(3200), d.open_after(50, 0));  // four round trips more
  EXPECT_EQ(milliseconds(5000), d.open_after(0, 1));
}

TEST(Deadlines, AnUnmeasuredRoundTripAddsNothing) {
  Deadlines d;
  d.floor = milliseconds(1000);
  EXPECT_EQ(milliseconds(1000), d.step(0, 1, 1, std::numeric_limits<double>::infinity(), 0));
}

}  // namespace
}  // namespace brigade
