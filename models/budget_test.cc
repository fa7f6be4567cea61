#include "models/budget.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

ModelInfo Anthropicish() {
  ModelInfo m;
  m.input_usd = 3;
  m.cached_input_usd = 0.3;
  m.cache_write_usd = 3.75;
  m.output_usd = 15;
  m.priced = true;
  return m;
}

TEST(BudgetTest, CostCountsEachKindOfTokenAtItsPrice) {
  v1::Usage u;
  u.set_input_tokens(1'000'000);        // 600k plain + 300k cached + 100k written
  u.set_cached_input_tokens(300'000);
  u.set_cache_write_tokens(100'000);
  u.set_output_tokens(200'000);
  EXPECT_NEAR(CostUsd(Anthropicish(), u), 0.6 * 3 + 0.3 * 0.3 + 0.1 * 3.75 + 0.2 * 15, 1e-9);
}

TEST(BudgetTest, WorstCaseIsEveryByteATokenAtTheHighestInputPricePlusAllOutput) {
  EXPECT_NEAR(WorstCaseUsd(Anthropicish(), 10'000, 1'000), ((10'000 + kProviderOverheadTokens) * 3.75 + 1'000 * 15) / 1e6,
              1e-12);
}

TEST(BudgetTest, ACallThatDoesNotFitIsRefusedAndTheRunIsExhausted) {
  Budget b(1.0, 0);
  auto first = b.Reserve("a", 0.6);
  ASSERT_TRUE(first.ok());
  // While the first is in flight the second does not fit, but would alone: refused, not exhausted.
  bool may_wait = false;
  auto second = b.Reserve("b", 0.5, &may_wait);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(b.exhausted());
  EXPECT_TRUE(may_wait) << "it may wait for the first to settle";
  b.Settle(*first, 0.7);  // cost more than the worst case? never, but charge what was reported
  EXPECT_NEAR(b.spent(), 0.7, 1e-12);
  EXPECT_EQ(b.reserved(), 0);
  auto third = b.Reserve("b", 0.5, &may_wait);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(b.exhausted());
  EXPECT_FALSE(may_wait);
  EXPECT_NE(third.status().message().find("run's budget of $1.0000"), std::string::npos) << third.status();
}

TEST(BudgetTest, PerSubtaskCapRefusesOnlyThatSubtask) {
  Budget b(0, 0.1, 0, {{"a", 0.08}});
  EXPECT_EQ(b.Reserve("a", 0.05).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(b.Reserve("b", 0.05).ok());
  EXPECT_FALSE(b.exhausted());
}

TEST(BudgetTest, AGroupCapRefusesOnlyThatGroupAndCountsEarlierSessions) {
  // Subtasks a1 and a2 are issue A's, b1 issue B's; A spent 0.06 in an earlier session.
  Budget b(0, 0, 0.06, {{"a1", 0.06}}, 0.1, {{"a1", "A"}, {"a2", "A"}, {"b1", "B"}});
  absl::StatusOr<Budget::Reservation> r = b.Reserve("a2", 0.03);
  ASSERT_TRUE(r.ok()) << r.status();
  absl::Status refused = b.Reserve("a1", 0.02).status();  // 0.06 spent + 0.03 reserved + 0.02 > 0.1
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("issue A's budget of $0.1000"), std::string::npos) << refused;
  EXPECT_TRUE(b.Reserve("b1", 0.09).ok()) << "another issue is not held back";
  b.Settle(*r, 0.01);  // the call cost less than its worst case: the rest comes back to A
  EXPECT_TRUE(b.Reserve("a1", 0.02).ok());
  EXPECT_FALSE(b.exhausted()) << "an issue's cap does not stop the run";
  EXPECT_TRUE(b.Reserve("planner", 1.0).ok()) << "a subtask in no group has no group cap";
}

TEST(BudgetTest, AGroupWhoseSpendingLeavesNoRoomIsNotWorthWaitingFor) {
  Budget b(10, 0, 0, {}, 0.1, {{"a1", "A"}, {"b1", "B"}});
  absl::StatusOr<Budget::Reservation> other = b.Reserve("b1", 0.05);  // another issue's call in flight
  ASSERT_TRUE(other.ok());
  absl::StatusOr<Budget::Reservation> first = b.Reserve("a1", 0.05);
  ASSERT_TRUE(first.ok());
  b.Settle(*first, 0.09);  // A spent 0.09 of its 0.1
  bool may_wait = true;
  EXPECT_FALSE(b.Reserve("a1", 0.05, &may_wait).ok());
  EXPECT_FALSE(may_wait) << "A's cap has no room whatever settles: waiting would only hold its agent";
  absl::StatusOr<Budget::Reservation> second = b.Reserve("a1", 0.005);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(b.Reserve("a1", 0.008, &may_wait).ok());
  EXPECT_TRUE(may_wait) << "room comes back when A's own call in flight settles";
}

TEST(BudgetTest, SpendingCarriedFromAnEarlierSessionCounts) {
  Budget b(1.0, 0, 1.0);
  EXPECT_TRUE(b.exhausted());
  EXPECT_FALSE(b.Reserve("a", 0.01).ok());
}

}  // namespace
}  // namespace swarm
