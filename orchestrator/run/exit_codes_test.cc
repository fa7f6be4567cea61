#include "orchestrator/run/exit_codes.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(ExitCodesTest, ARunsEndingTravelsAsAStatusAndBackExactly) {
  for (int code : {kExitOk, kExitIncomplete, kExitUsage, kExitEnvironment, kExitBudget, kExitCancelled, kExitInternal,
                   kExitInterrupted}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(ExitCodeFor(RunEndStatus(code)), code);
  }
  EXPECT_EQ(ExitCodeFor(RunEndStatus(42)), 42);  // an undocumented one is kept too
}

TEST(ExitCodesTest, ARunsEndingHasAFittingCodeAndNoMessage) {
  EXPECT_TRUE(RunEndStatus(kExitOk).ok());
  EXPECT_TRUE(absl::IsAborted(RunEndStatus(kExitIncomplete)));
  EXPECT_TRUE(absl::IsInvalidArgument(RunEndStatus(kExitUsage)));
  EXPECT_TRUE(absl::IsFailedPrecondition(RunEndStatus(kExitEnvironment)));
  EXPECT_TRUE(absl::IsResourceExhausted(RunEndStatus(kExitBudget)));
  EXPECT_TRUE(absl::IsCancelled(RunEndStatus(kExitCancelled)));
  EXPECT_TRUE(absl::IsCancelled(RunEndStatus(kExitInterrupted)));
  EXPECT_TRUE(absl::IsInternal(RunEndStatus(kExitInternal)));
  for (int code : {kExitIncomplete, kExitBudget, kExitInterrupted, kExitInternal}) {
    EXPECT_TRUE(RunEndStatus(code).message().empty()) << code;
  }
}

TEST(ExitCodesTest, OkIsZero) { EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk); }

TEST(ExitCodesTest, AStatusWithoutAnAttachedCodeMapsByItsCode) {
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("bad flag")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("no bubblewrap")), kExitEnvironment);
  EXPECT_EQ(ExitCodeFor(absl::CancelledError("cancelled")), kExitCancelled);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("cannot write /x: No space left on device")), kExitEnvironment);
  EXPECT_EQ(ExitCodeFor(absl::UnknownError("what")), kExitInternal);
}

TEST(ExitCodesTest, AnAttachedCodeWinsAndKeepsTheMessage) {
  absl::Status st = WithExitCode(absl::AbortedError("the coordinator died"), kExitIncomplete);
  EXPECT_EQ(ExitCodeFor(st), kExitIncomplete);
  EXPECT_TRUE(absl::IsAborted(st));
  EXPECT_EQ(st.message(), "the coordinator died");
  EXPECT_EQ(ExitCodeFor(absl::AbortedError("the coordinator died")), kExitInternal);
}

TEST(ExitCodesTest, ABudgetRefusalIsTheBudgetsEndingAndOtherErrorsStayAsTheyAre) {
  const absl::Status refused = BudgetEnds(absl::ResourceExhaustedError("the budget of $0.01 is spent"));
  EXPECT_EQ(ExitCodeFor(refused), kExitBudget);
  EXPECT_EQ(refused.message(), "the budget of $0.01 is spent");
  EXPECT_EQ(ExitCodeFor(BudgetEnds(absl::UnavailableError("down"))), kExitEnvironment);
  EXPECT_TRUE(BudgetEnds(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace swarm
