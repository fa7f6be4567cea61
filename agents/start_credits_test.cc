#include "agents/start_credits.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(StartCreditsTest, AsksForNoMoreThanItCanSetUpAtOnce) {
  StartCredits c(/*slots=*/10, /*parallel_starts=*/2);
  EXPECT_EQ(c.Ask(), 2);
  EXPECT_EQ(c.Ask(), 0);  // both may still arrive
  c.Leased();
  c.Leased();
  EXPECT_EQ(c.Ask(), 0);  // both are being set up
  c.Started();
  EXPECT_EQ(c.Ask(), 1);
  EXPECT_EQ(c.held(), 2);
  EXPECT_EQ(c.starting(), 1);
}

TEST(StartCreditsTest, NeverHoldsMoreThanItsSlots) {
  StartCredits c(/*slots=*/3, /*parallel_starts=*/8);
  EXPECT_EQ(c.Ask(), 3);
  for (int i = 0; i < 3; ++i) {
    c.Leased();
    c.Started();
  }
  EXPECT_EQ(c.Ask(), 0);
  c.Ended(/*started=*/true);
  EXPECT_EQ(c.held(), 2);
  EXPECT_EQ(c.Ask(), 1);
  EXPECT_EQ(c.Ask(), 0);
}

TEST(StartCreditsTest, AnAttemptEndedBeforeItsSetUpFreesItsStart) {
  StartCredits c(/*slots=*/4, /*parallel_starts=*/1);
  EXPECT_EQ(c.Ask(), 1);
  c.Leased();
  EXPECT_EQ(c.Ask(), 0);
  c.Ended(/*started=*/false);  // cancelled while its workspace was made
  EXPECT_EQ(c.held(), 0);
  EXPECT_EQ(c.starting(), 0);
  EXPECT_EQ(c.Ask(), 1);
}

TEST(StartCreditsTest, ALeaseNotAskedForStillCountsAgainstTheSlots) {
  StartCredits c(/*slots=*/1, /*parallel_starts=*/1);
  c.Leased();  // the coordinator sent one unasked
  EXPECT_EQ(c.asked(), 0);
  EXPECT_EQ(c.Ask(), 0);
  c.Started();
  EXPECT_EQ(c.Ask(), 0);
  c.Ended(/*started=*/true);
  EXPECT_EQ(c.Ask(), 1);
}

}  // namespace
}  // namespace swarm
