// The landing pipeline alone: a real scheduler and rework policy, fake merge stages that hold each
// request until the test releases it, and hooks that queue the executor's and the workers' tasks
// until the test runs them. No git, no process, no thread: every interleaving is the test's.
#include "orchestrator/run/landing_pipeline.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "orchestrator/merge/fake_merge_stages.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/run/recovery.h"

namespace swarm {
namespace {

using State = Scheduler::State;

// a and b are lone (b depends on a); c and d form the atomic group g.
constexpr char kPlan[] = R"({"subtasks": [
  {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
  {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"], "depends_on": ["a"]},
  {"id": "c", "title": "C", "instructions": "", "files": ["c.txt"], "group": "g"},
  {"id": "d", "title": "D", "instructions": "", "files": ["d.txt"], "group": "g"}]})";

class LandingPipelineTest : public ::testing::Test {
 protected:
  explicit LandingPipelineTest(int max_attempts = 1)
      : plan_(Parse(kPlan)), scheduler_(plan_, max_attempts), rework_(/*max_rebases=*/1, /*max_fixups=*/1) {}

  void SetUp() override {
    LandingPipeline::Hooks hooks{
        .emit = [this](v1::Event e, const EventBodies& bodies) {
          if (e.has_patch_submitted()) {
            diffs_[absl::StrCat(e.patch_submitted().subtask_id(), "#", e.patch_submitted().attempt())] =
                bodies.patch_diff;
          }
          events_.push_back(std::move(e));
        },
        .write_log = [](const std::string& name, const std::string&) { return "/logs/" + name; },
        .say = [this](const std::string& line) { said_.push_back(line); },
        .can_fix_up = [this] { return can_fix_up_; },
        .patch_diff = [this](const std::string& id, int attempt) -> absl::StatusOr<std::string> {
          auto it = diffs_.find(absl::StrCat(id, "#", attempt));
          if (it == diffs_.end()) return absl::NotFoundError("no such patch");
          return it->second;
        },
        .attempt_failed = [this](const Lease& lease,
                                 const std::string& reason) { failed_attempts_.push_back(lease.subtask_id + ": " + reason); },
        .progressed = [this] { ++progressed_; },
        .blame = [](const MergeRequest&, const std::string&) { return std::string("c broke it"); },
        .post = [this](std::function<void()> task) { executor_.push_back(std::move(task)); },
        .post_work = [this](std::function<void()> work) { workers_.push_back(std::move(work)); },
        .commit_patch = [this](const v1::AttemptResult& result, const std::string&) -> absl::StatusOr<std::string> {
          if (!commit_error_.empty()) return absl::InvalidArgumentError(commit_error_);
          return "commit-of-" + result.patch();
        }};
    pipeline_ = std::make_unique<LandingPipeline>(plan_, scheduler_, rework_,
                                                  LandingPipeline::Settings{"make test", TestFormat::kExit, false},
                                                  std::move(hooks));
    pipeline_->UseStages(checker_, queue_);
    pipeline_->StartAt("", "base", {});
  }

  static Plan Parse(const char* json) {
    absl::StatusOr<Plan> plan = ParsePlan(json, "plan.json");
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) return Plan{};
    absl::Status valid = ValidatePlan(*plan, "plan.json");  // it names each group's members
    EXPECT_TRUE(valid.ok()) << valid;
    return *plan;
  }

  // Runs the queued worker tasks, then the executor's, until none is left.
  void RunAll() {
    while (!workers_.empty() || !executor_.empty()) {
      std::deque<std::function<void()>>& queue = !workers_.empty() ? workers_ : executor_;
      std::function<void()> task = std::move(queue.front());
      queue.pop_front();
      task();
    }
  }

  // Leases `id` (it must be the next ready subtask) and hands in a patch made on `base`, "diff-ID-ATTEMPT",
  // leaving its commit on a worker.
  void AcceptPatch(const std::string& id, const std::string& base = "base") {
    ASSERT_EQ(scheduler_.TakeReady(), id);
    Lease lease{id, scheduler_.attempts(id), 1, 1, pipeline_->head()};
    v1::AttemptResult result;
    result.set_outcome(v1::AttemptResult::PATCH);
    result.set_base_commit(base);
    result.set_patch(absl::StrCat("diff-", id, "-", lease.attempt));
    pipeline_->Accept(lease, result);
  }

  // AcceptPatch, then the commit and what follows it.
  void SubmitPatch(const std::string& id, const std::string& base = "base") {
    AcceptPatch(id, base);
    RunAll();
  }

  CheckResult Passed() {
    CheckResult r;
    r.pass = true;
    r.tested = true;
    r.test.passed = true;
    return r;
  }

  MergeResult Merged(MergeResult::Outcome outcome, const std::string& commit = "", bool tested = true) {
    MergeResult r;
    r.outcome = outcome;
    r.commit = commit;
    r.tested = tested;
    r.detail = "what happened\nin detail";
    r.conflict_json = R"({"files": ["a.txt"]})";
    return r;
  }

  // Releases the oldest check as `check`, then the oldest merge as `merge`.
  void Land(const CheckResult& check, const MergeResult& merge) {
    checker_.held.Release(check);
    RunAll();
    queue_.held.Release(merge);
    RunAll();
  }

  // The last SubtaskFinished of `id`.
  const v1::SubtaskFinished* Finished(const std::string& id) const {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->has_subtask_finished() && it->subtask_finished().subtask_id() == id) return &it->subtask_finished();
    }
    return nullptr;
  }

  Plan plan_;
  Scheduler scheduler_;
  ReworkPolicy rework_;
  FakePatchChecker checker_;
  FakeMergeQueue queue_;
  std::unique_ptr<LandingPipeline> pipeline_;
  std::deque<std::function<void()>> executor_, workers_;
  std::vector<v1::Event> events_;
  std::map<std::string, std::string> diffs_;
  std::vector<std::string> said_, failed_attempts_;
  std::string commit_error_;
  bool can_fix_up_ = false;
  int progressed_ = 0;
};

TEST_F(LandingPipelineTest, ALonePatchIsCommittedCheckedQueuedAndMovesTheHead) {
  AcceptPatch("a");
  EXPECT_EQ(pipeline_->jobs_in_flight(), 1);  // committing, off the executor
  EXPECT_TRUE(events_.empty());
  RunAll();
  ASSERT_EQ(events_.size(), 1u);
  ASSERT_TRUE(events_[0].has_patch_submitted());
  EXPECT_EQ(events_[0].patch_submitted().commit(), "commit-of-diff-a-1");
  EXPECT_EQ(diffs_["a#1"], "diff-a-1");
  EXPECT_EQ(scheduler_.state("a"), State::kMerging);
  EXPECT_EQ(pipeline_->jobs_in_flight(), 1);  // in the check
  MergeRequest checked = checker_.held.WaitForRequest();
  ASSERT_EQ(checked.patches.size(), 1u);
  EXPECT_EQ(checked.patches[0].commit, "commit-of-diff-a-1");
  EXPECT_TRUE(checked.group.empty());

  Land(Passed(), Merged(MergeResult::Outcome::kLanded, "landed-1"));
  EXPECT_EQ(pipeline_->jobs_in_flight(), 0);
  EXPECT_EQ(pipeline_->head(), "landed-1");
  EXPECT_EQ(checker_.head(), "landed-1");  // later checks compare against it
  ASSERT_NE(Finished("a"), nullptr);
  EXPECT_EQ(Finished("a")->state(), v1::LANDED);
  EXPECT_TRUE(pipeline_->finished("a"));
  EXPECT_EQ(scheduler_.state("a"), State::kLanded);
  EXPECT_EQ(progressed_, 3);  // committed, checked, merged
  int test_runs = 0;
  for (const auto& e : events_) test_runs += e.has_test_run();
  EXPECT_EQ(test_runs, 2);  // the check's and the queue's
}

TEST_F(LandingPipelineTest, AnUntestedLandingDoesNotMoveTheHead) {
  SubmitPatch("a");
  Land(Passed(), Merged(MergeResult::Outcome::kLanded, "landed-1", /*tested=*/false));
  EXPECT_EQ(Finished("a")->state(), v1::LANDED);
  EXPECT_EQ(pipeline_->head(), "base");  // a candidate's middle commit: only the tested last one counts
}

TEST_F(LandingPipelineTest, APatchThatCannotBeCommittedFailsItsAttempt) {
  commit_error_ = "path .git/config is not allowed";
  SubmitPatch("a");
  ASSERT_EQ(failed_attempts_.size(), 1u);
  EXPECT_EQ(failed_attempts_[0], "a: invalid patch: path .git/config is not allowed");
  EXPECT_EQ(checker_.held.size(), 0u);
  EXPECT_EQ(pipeline_->jobs_in_flight(), 0);
  EXPECT_EQ(progressed_, 1);
}

TEST_F(LandingPipelineTest, APatchNotOnItsLeasedBaseIsRefused) {
  SubmitPatch("a", /*base=*/"somewhere-else");
  ASSERT_EQ(failed_attempts_.size(), 1u);
  EXPECT_EQ(failed_attempts_[0], "a: invalid patch: the patch is not on the leased base");
  EXPECT_EQ(checker_.held.size(), 0u);
}

TEST_F(LandingPipelineTest, AConflictIsRebasedOnceThenTheSubtaskIsExhausted) {
  SubmitPatch("a");
  Land(Passed(), Merged(MergeResult::Outcome::kConflict));
  EXPECT_EQ(Finished("a"), nullptr);
  EXPECT_EQ(scheduler_.state("a"), State::kPending);  // redone on the new head
  EXPECT_EQ(rework_.rebases("a"), 1);
  EXPECT_EQ(rework_.TakeConflict("a"), R"({"files": ["a.txt"]})");
  ASSERT_EQ(said_.size(), 1u);
  EXPECT_NE(said_[0].find("rebase 1 of 1"), std::string::npos) << said_[0];

  SubmitPatch("a");
  Land(Passed(), Merged(MergeResult::Outcome::kConflict));
  ASSERT_NE(Finished("a"), nullptr);
  EXPECT_EQ(Finished("a")->state(), v1::CONFLICT_EXHAUSTED);
  EXPECT_EQ(Finished("a")->reason(), "still conflicting after 1 rebases: what happened");
  // b depends on a, which will never land.
  ASSERT_NE(Finished("b"), nullptr);
  EXPECT_EQ(Finished("b")->state(), v1::SKIPPED_DEPENDENCY);
  EXPECT_EQ(Finished("b")->reason(), "dependency a did not land");
}

TEST_F(LandingPipelineTest, FailingTestsGoToADebuggingSubAgentOnlyWhenTheModelMaySpend) {
  can_fix_up_ = true;
  SubmitPatch("a");
  Land(Passed(), Merged(MergeResult::Outcome::kTestsFailed));
  ASSERT_NE(Finished("a"), nullptr);
  EXPECT_EQ(Finished("a")->state(), v1::FIX_UP_PENDING);
  EXPECT_EQ(scheduler_.state("a"), State::kPending);
  const std::string* failure = rework_.failure("a");
  ASSERT_NE(failure, nullptr);
  EXPECT_NE(failure->find("diff-a-1"), std::string::npos) << *failure;  // the patch it is to fix

  can_fix_up_ = false;  // the budget is spent, say
  SubmitPatch("a");
  EXPECT_EQ(rework_.failure("a"), nullptr);  // a patch came: the failure is answered
  Land(Passed(), Merged(MergeResult::Outcome::kTestsFailed));
  EXPECT_EQ(Finished("a")->state(), v1::REJECTED_QUEUE);
  EXPECT_EQ(Finished("a")->reason(), "what happened");
  EXPECT_EQ(Finished("a")->log_path(), "/logs/a.2.merge.log");
}

TEST_F(LandingPipelineTest, AGroupGoesAsOneAndIsRejectedWholeWithTheBlame) {
  ASSERT_EQ(scheduler_.TakeReady(), "a");  // out of the way: c and d come next
  SubmitPatch("c");
  EXPECT_EQ(checker_.held.size(), 0u);  // d has no patch yet
  SubmitPatch("d");
  MergeRequest request = checker_.held.WaitForRequest();
  EXPECT_EQ(request.group, "g");
  ASSERT_EQ(request.patches.size(), 2u);

  CheckResult failed;
  failed.tested = true;
  failed.why = "2 tests fail";
  failed.test.log_path = "/logs/check.log";
  checker_.held.Release(failed);
  RunAll();
  for (const char* id : {"c", "d"}) {
    ASSERT_NE(Finished(id), nullptr) << id;
    EXPECT_EQ(Finished(id)->state(), v1::REJECTED_CHECK);
    EXPECT_EQ(Finished(id)->reason(), "group g: 2 tests fail; c broke it");
    EXPECT_EQ(Finished(id)->log_path(), "/logs/check.log");
  }
  EXPECT_EQ(queue_.held.size(), 0u);
}

TEST_F(LandingPipelineTest, AGroupWithAMemberThatFailedFailsWhole) {
  ASSERT_EQ(scheduler_.TakeReady(), "a");
  SubmitPatch("c");
  ASSERT_EQ(scheduler_.TakeReady(), "d");
  ASSERT_FALSE(scheduler_.AttemptFailed("d"));  // its only attempt
  pipeline_->FinishSubtask("d", v1::FAILED_AGENT, "the agent failed", "");
  pipeline_->SubmitMergeable();
  ASSERT_NE(Finished("c"), nullptr);
  EXPECT_EQ(Finished("c")->state(), v1::FAILED);
  EXPECT_EQ(Finished("c")->reason(), "group g cannot land: d did not produce a patch");
  EXPECT_EQ(checker_.held.size(), 0u);
}

TEST_F(LandingPipelineTest, ARejectionAfterACancelIsRecordedAsCancelled) {
  SubmitPatch("a");
  checker_.held.Release(Passed());
  RunAll();
  pipeline_->Cancel("the user asked");
  queue_.held.Release(Merged(MergeResult::Outcome::kTestsFailed));
  RunAll();
  EXPECT_EQ(Finished("a")->state(), v1::CANCELLED);
  EXPECT_EQ(Finished("a")->reason(), "cancelled before it finished: the user asked");
}

TEST_F(LandingPipelineTest, ALandingThatRacedACancelStillCounts) {
  SubmitPatch("a");
  checker_.held.Release(Passed());
  RunAll();
  pipeline_->Cancel("the user asked");
  queue_.held.Release(Merged(MergeResult::Outcome::kLanded, "landed-1"));
  RunAll();
  EXPECT_EQ(Finished("a")->state(), v1::LANDED);  // it is on the ref: the record must say so
}

TEST_F(LandingPipelineTest, AlreadyPresentChangesNothing) {
  SubmitPatch("a");
  MergeResult present = Merged(MergeResult::Outcome::kAlreadyPresent);
  present.detail = "the patch is already in the head";
  Land(Passed(), present);
  EXPECT_EQ(Finished("a")->state(), v1::NO_CHANGE);
  EXPECT_EQ(Finished("a")->reason(), "the patch is already in the head");
}

TEST_F(LandingPipelineTest, AResumedRunSubmitsThePatchesItHadAccepted) {
  Recovery rec;
  rec.head = "landed-before";
  rec.heads[""] = "landed-before";
  rec.subtasks["a"] = {State::kPatchReady, 1, 0, false};
  rec.subtasks["b"] = {State::kPending, 2, 0, false};  // its second attempt was cut short
  rec.failure_logs["b"] = "/nonexistent/b.1.merge.log";  // a fix-up was pending
  rec.refusals["b"] = "no failing test: none";
  rec.fixups["b"] = 1;
  diffs_["b#1"] = "diff-b-1";  // the newest patch it submitted
  rec.subtasks["c"] = {State::kLanded, 1, 0, /*needs_finished_event=*/true};
  rec.subtasks["d"] = {State::kLanded, 1, 0, false};
  rec.patch_commits["a"] = {1, "commit-before-the-crash", "what the agent said it did"};
  pipeline_->Restore(rec);
  EXPECT_EQ(pipeline_->head(), "landed-before");
  EXPECT_TRUE(pipeline_->finished("c"));
  EXPECT_TRUE(pipeline_->finished("d"));
  EXPECT_FALSE(pipeline_->finished("a"));
  ASSERT_NE(Finished("c"), nullptr);  // the landing found on the ref is recorded now
  EXPECT_EQ(Finished("c")->state(), v1::LANDED);
  EXPECT_EQ(Finished("d"), nullptr);  // recorded before the crash
  ASSERT_NE(rework_.failure("b"), nullptr);  // its next lease is told the failure again
  EXPECT_NE(rework_.failure("b")->find("diff-b-1"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(*rework_.failure("b")).value("refused", ""), "no failing test: none")
      << "and why it was refused";
  EXPECT_EQ(rework_.fixups("b"), 1);
  pipeline_->SubmitMergeable();
  MergeRequest request = checker_.held.WaitForRequest();
  ASSERT_EQ(request.patches.size(), 1u);
  EXPECT_EQ(request.patches[0].commit, "commit-before-the-crash");
  EXPECT_EQ(request.patches[0].summary, "what the agent said it did") << "the landing keeps its agent's summary";
}

TEST_F(LandingPipelineTest, AGroupThatFailsInTheQueueIsRejectedWholeWithTheBlame) {
  ASSERT_EQ(scheduler_.TakeReady(), "a");
  SubmitPatch("c");
  SubmitPatch("d");
  Land(Passed(), Merged(MergeResult::Outcome::kTestsFailed));
  for (const char* id : {"c", "d"}) {
    ASSERT_NE(Finished(id), nullptr) << id;
    EXPECT_EQ(Finished(id)->state(), v1::REJECTED_QUEUE);  // never a fix-up for a group's member
    EXPECT_EQ(Finished(id)->reason(), "group g: what happened; c broke it");
    EXPECT_EQ(Finished(id)->log_path(), "/logs/group-g.1.merge.log");
  }
}

TEST_F(LandingPipelineTest, AnUntestedCheckFailureIsRejectedEvenWhenAFixUpCouldRun) {
  can_fix_up_ = true;
  SubmitPatch("a");
  CheckResult untested;
  untested.why = "the patch does not apply to its base";
  checker_.held.Release(untested);
  RunAll();
  ASSERT_NE(Finished("a"), nullptr);
  EXPECT_EQ(Finished("a")->state(), v1::REJECTED_CHECK);  // nothing ran: nothing to debug
  EXPECT_EQ(Finished("a")->log_path(), "/logs/a.check.log");
  EXPECT_EQ(Finished("a")->reason(), "the patch does not apply to its base");
}

TEST_F(LandingPipelineTest, ATestedCheckFailureOfALonePatchGoesToAFixUp) {
  can_fix_up_ = true;
  SubmitPatch("a");
  CheckResult failed;
  failed.tested = true;
  failed.why = "1 test fails";
  failed.test.log_path = "/logs/a.check.log";
  checker_.held.Release(failed);
  RunAll();
  EXPECT_EQ(Finished("a")->state(), v1::FIX_UP_PENDING);
  EXPECT_EQ(scheduler_.state("a"), State::kPending);
  EXPECT_EQ(queue_.held.size(), 0u);
}

// Test first: a patch that passed its tests but brought no failing test is redone told why.
TEST_F(LandingPipelineTest, APatchWithoutAFailingTestIsRedoneToldWhy) {
  can_fix_up_ = true;
  SubmitPatch("a");
  CheckResult refused;
  refused.tested = true;
  refused.no_failing_test = true;
  refused.why = "no failing test: the tests pass on the base with its tests and without its fix";
  checker_.held.Release(refused);
  RunAll();
  EXPECT_EQ(Finished("a")->state(), v1::FIX_UP_PENDING);
  EXPECT_NE(Finished("a")->reason().find("its patch was refused (no failing test: the tests pass"), std::string::npos)
      << Finished("a")->reason();
  ASSERT_NE(rework_.failure("a"), nullptr);
  EXPECT_EQ(nlohmann::json::parse(*rework_.failure("a")).value("refused", ""), refused.why);
  EXPECT_EQ(scheduler_.state("a"), State::kPending);
}

TEST_F(LandingPipelineTest, APatchSwarmCouldNotJudgeIsRejectedAsSwarmsOwnErrorAndRedoneByNobody) {
  can_fix_up_ = true;
  SubmitPatch("a");
  CheckResult unjudged;
  unjudged.tested = true;
  unjudged.swarm_error = true;
  unjudged.why = "no baseline to judge it by: the tests gave no results on the base";
  checker_.held.Release(unjudged);
  RunAll();
  EXPECT_EQ(Finished("a")->state(), v1::REJECTED_CHECK);
  EXPECT_EQ(Finished("a")->reason(), "swarm's own error: " + unjudged.why);
}

TEST_F(LandingPipelineTest, AMergeErrorFailsTheSubtaskWithTheFirstLineOfWhy) {
  SubmitPatch("a");
  Land(Passed(), Merged(MergeResult::Outcome::kError));
  EXPECT_EQ(Finished("a")->state(), v1::FAILED);
  EXPECT_EQ(Finished("a")->reason(), "what happened");
  EXPECT_EQ(rework_.rebases("a"), 0);
}

TEST_F(LandingPipelineTest, AfterACancelNothingNewGoesToTheStagesAndChecksComeBackCancelled) {
  SubmitPatch("a");  // in the check
  pipeline_->Cancel("stop");
  checker_.held.Release(Passed());
  RunAll();
  EXPECT_EQ(Finished("a")->state(), v1::CANCELLED);
  EXPECT_EQ(queue_.held.size(), 0u);
}

TEST_F(LandingPipelineTest, APatchCommittedAfterACancelIsNotSubmitted) {
  AcceptPatch("a");
  pipeline_->Cancel("stop");  // while the commit is on a worker
  RunAll();
  EXPECT_EQ(checker_.held.size(), 0u);
  EXPECT_EQ(scheduler_.state("a"), State::kFailed);
  EXPECT_FALSE(pipeline_->finished("a"));  // the run's close-out records it cancelled
  EXPECT_EQ(pipeline_->jobs_in_flight(), 0);
}

}  // namespace
}  // namespace swarm
