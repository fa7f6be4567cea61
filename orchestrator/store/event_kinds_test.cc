#include "orchestrator/store/event_kinds.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(EventKindsTest, WritingSetsTheEnumAndTheOlderString) {
  v1::AttemptFinished f;
  SetOutcome(f, v1::ATTEMPT_OUTCOME_NO_CHANGE);
  EXPECT_EQ(f.attempt_outcome(), v1::ATTEMPT_OUTCOME_NO_CHANGE);
  EXPECT_EQ(f.outcome(), "no_change");
  v1::PatchRejected r;
  SetReason(r, v1::REJECTION_REASON_CHECK_FAILED);
  EXPECT_EQ(r.reason(), "check_failed");
  v1::RunFinished done;
  SetState(done, v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(done.state(), "cancelled");
  v1::TestRun t;
  SetStage(t, v1::TEST_STAGE_QUEUE);
  EXPECT_EQ(t.stage(), "queue");
}

// An event stored before the enums has the string alone.
TEST(EventKindsTest, AnOlderEventIsReadFromItsString) {
  v1::AttemptFinished f;
  f.set_outcome("patch");
  EXPECT_EQ(OutcomeOf(f), v1::ATTEMPT_OUTCOME_PATCH);
  v1::PatchRejected r;
  r.set_reason("conflict");
  EXPECT_EQ(ReasonOf(r), v1::REJECTION_REASON_CONFLICT);
  v1::RunFinished done;
  done.set_state("failed");
  EXPECT_EQ(StateOf(done), v1::RUN_STATE_FAILED);
  v1::TestRun t;
  t.set_stage("head");
  EXPECT_EQ(StageOf(t), v1::TEST_STAGE_HEAD);
  t.set_stage("");
  EXPECT_EQ(StageOf(t), v1::TEST_STAGE_UNSPECIFIED) << "a test run stored before stages had none";
}

TEST(EventKindsTest, TheEnumWinsAndAStringOutsideTheSetIsUnspecified) {
  v1::AttemptFinished f;
  f.set_outcome("no_change");
  f.set_attempt_outcome(v1::ATTEMPT_OUTCOME_FAILED);
  EXPECT_EQ(OutcomeOf(f), v1::ATTEMPT_OUTCOME_FAILED);
  v1::PatchRejected r;
  r.set_reason("Conflict");
  EXPECT_EQ(ReasonOf(r), v1::REJECTION_REASON_UNSPECIFIED);
  EXPECT_STREQ(Name(v1::RUN_STATE_UNSPECIFIED), "");
  for (int s = v1::RunState_MIN + 1; s <= v1::RunState_MAX; ++s) {
    EXPECT_STRNE(Name(static_cast<v1::RunState>(s)), "") << "run state " << s << " has no name";
  }
  for (int s = v1::AttemptOutcome_MIN + 1; s <= v1::AttemptOutcome_MAX; ++s) {
    EXPECT_STRNE(Name(static_cast<v1::AttemptOutcome>(s)), "") << s;
  }
  for (int s = v1::RejectionReason_MIN + 1; s <= v1::RejectionReason_MAX; ++s) {
    EXPECT_STRNE(Name(static_cast<v1::RejectionReason>(s)), "") << s;
  }
  for (int s = v1::TestStage_MIN + 1; s <= v1::TestStage_MAX; ++s) {
    EXPECT_STRNE(Name(static_cast<v1::TestStage>(s)), "") << s;
  }
}

}  // namespace
}  // namespace swarm
