#include "orchestrator/run/rework_policy.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

using Rejection = ReworkPolicy::Rejection;
using Rework = ReworkPolicy::Rework;

TEST(ReworkPolicyTest, AConflictIsRebasedUpToTheLimitAndToldOnce) {
  ReworkPolicy policy(/*max_rebases=*/2, /*max_fixups=*/1);
  EXPECT_EQ(policy.Decide("a", Rejection::kConflict, true, false, false), Rework::kRebase);
  EXPECT_EQ(policy.Rebase("a", "{\"files\":[\"x\"]}"), 1);
  EXPECT_EQ(policy.TakeConflict("a"), "{\"files\":[\"x\"]}");
  EXPECT_EQ(policy.TakeConflict("a"), std::nullopt);  // told to one lease only
  EXPECT_EQ(policy.Decide("a", Rejection::kConflict, true, false, false), Rework::kRebase);
  EXPECT_EQ(policy.Rebase("a", "{}"), 2);
  EXPECT_EQ(policy.Decide("a", Rejection::kConflict, true, false, false), Rework::kFinish);
  EXPECT_EQ(policy.Decide("b", Rejection::kConflict, true, false, false), Rework::kRebase) << "counts are per subtask";
}

TEST(ReworkPolicyTest, FailedTestsGetAFixUpOnlyWhenTestedWithAModelThatMaySpend) {
  ReworkPolicy policy(2, /*max_fixups=*/1);
  EXPECT_EQ(policy.Decide("a", Rejection::kTestsFailed, true, /*tested=*/false, true), Rework::kFinish);
  EXPECT_EQ(policy.Decide("a", Rejection::kTestsFailed, true, true, /*can_fix_up=*/false), Rework::kFinish);
  EXPECT_EQ(policy.Decide("a", Rejection::kOther, true, true, true), Rework::kFinish);
  ASSERT_EQ(policy.Decide("a", Rejection::kTestsFailed, true, true, true), Rework::kFixUp);
  EXPECT_EQ(policy.FixUp("a", "{\"log\":\"boom\"}"), 1);
  ASSERT_NE(policy.failure("a"), nullptr);
  EXPECT_EQ(*policy.failure("a"), "{\"log\":\"boom\"}");
  EXPECT_NE(policy.failure("a"), nullptr) << "told to every lease until a patch comes";
  policy.PatchSubmitted("a");
  EXPECT_EQ(policy.failure("a"), nullptr);
  EXPECT_EQ(policy.Decide("a", Rejection::kTestsFailed, true, true, true), Rework::kFinish) << "limit reached";
}

TEST(ReworkPolicyTest, AGroupsPatchesAreNeverReworkedOneByOne) {
  ReworkPolicy policy(5, 5);
  EXPECT_EQ(policy.Decide("a", Rejection::kConflict, /*lone=*/false, true, true), Rework::kFinish);
  EXPECT_EQ(policy.Decide("a", Rejection::kTestsFailed, /*lone=*/false, true, true), Rework::kFinish);
}

TEST(ReworkPolicyTest, AResumedRunContinuesItsCountsAndWhatItsLeasesAreTold) {
  ReworkPolicy policy(1, 1);
  policy.Restore({{"a", 1}}, {{"b", "{\"c\":1}"}}, {{"c", 1}}, {{"d", "{\"log\":\"x\"}"}});
  EXPECT_EQ(policy.Decide("a", Rejection::kConflict, true, true, true), Rework::kFinish);
  EXPECT_EQ(policy.TakeConflict("b"), "{\"c\":1}");
  EXPECT_EQ(policy.Decide("c", Rejection::kTestsFailed, true, true, true), Rework::kFinish);
  ASSERT_NE(policy.failure("d"), nullptr);
  EXPECT_EQ(policy.rebases("a"), 1);
  EXPECT_EQ(policy.fixups("c"), 1);
}

}  // namespace
}  // namespace swarm
