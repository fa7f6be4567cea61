#include "orchestrator/backlog/issue_outcome.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::CommitAll;
using ::swarm::testing::InitRepo;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;
using ::swarm::testing::Trim;
using ::swarm::testing::WriteFile;
using Kind = IssueOutcome::Kind;

class IssueOutcomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir_.path() + "/swarm.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    repo_ = dir_ / "repo";
    InitRepo(repo_);
    WriteFile(repo_ + "/a.py", "a\n");
    CommitAll(repo_, "base");
    base_ = Trim(Sh("git -C " + repo_ + " rev-parse HEAD"));
    WriteFile(repo_ + "/a.py", "fixed\n");
    WriteFile(repo_ + "/test_a.py", "test\n");
    CommitAll(repo_, "fix");
    fixed_ = Trim(Sh("git -C " + repo_ + " rev-parse HEAD"));
  }
  void Apply(v1::Event e) {
    e.set_run_id("r1");
    ASSERT_TRUE(store_->Apply(e).ok());
  }
  void Finish(const std::string& id, v1::SubtaskState state, const std::string& reason) {
    v1::Event e;
    e.mutable_subtask_finished()->set_subtask_id(id);
    e.mutable_subtask_finished()->set_state(state);
    e.mutable_subtask_finished()->set_reason(reason);
    Apply(e);
  }
  v1::Backlog Backlog(const std::vector<std::string>& ids) {
    v1::Backlog b;
    for (const auto& id : ids) {
      v1::Issue* issue = b.add_issues();
      issue->set_id(id);
      issue->set_title("issue " + id);
    }
    return b;
  }
  void Start(const std::vector<std::string>& ids) {
    v1::Event e;
    auto* s = e.mutable_run_started();
    s->set_repo(repo_);
    s->set_base_commit(base_);
    for (const auto& id : ids) {
      v1::Subtask* t = s->add_subtasks();
      t->set_id(id);
      t->set_lane(id);
    }
    Apply(e);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::string repo_, base_, fixed_;
};

TEST_F(IssueOutcomeTest, EachIssueGetsItsOutcomeAndReasonFromWhatWasRecorded) {
  const std::vector<std::string> ids = {"1", "2", "3", "4", "5", "6"};
  Start(ids);
  v1::Event check;  // test first: the check found the test the fix brought
  check.mutable_test_run()->set_test_stage(v1::TEST_STAGE_CHECK);
  check.mutable_test_run()->set_passed(false);  // per-test: the base's failures still fail; the gate said yes
  check.mutable_test_run()->add_subtask_ids("1");
  check.mutable_test_run()->add_reproduced_tests("test_a.T.test_fix");
  Apply(check);
  v1::Event landed;
  landed.mutable_landed()->add_subtask_ids("1");
  landed.mutable_landed()->set_lane("1");
  landed.mutable_landed()->set_commit(fixed_);
  Apply(landed);
  Finish("1", v1::LANDED, "");
  Finish("2", v1::REJECTED_CHECK, "no failing test: the patch adds or changes no test file (test_*.py)");
  Finish("3", v1::REJECTED_QUEUE, "tests failed on the head");
  Finish("4", v1::FAILED_AGENT, "model call failed: issue 4's budget of $0.1000 cannot cover this call");
  Finish("5", v1::NO_CHANGE, "the agent changed nothing");
  Finish("6", v1::LANDED, "");
  v1::Event end;
  v1::LaneEnd* one = end.mutable_run_finished()->add_lanes();
  one->set_lane("1");
  one->set_head(fixed_);
  one->set_branch("swarm/issue-1");
  v1::LaneEnd* six = end.mutable_run_finished()->add_lanes();
  six->set_lane("6");
  six->set_publish_error("refs/heads/swarm/issue-6 already exists");
  Apply(end);

  v1::Backlog backlog = Backlog(ids);
  v1::SkippedIssue* skipped = backlog.add_skipped();
  skipped->mutable_issue()->set_id("7");
  skipped->set_reason("--max-issues");
  absl::StatusOr<Git> git = Git::Open(repo_);
  ASSERT_TRUE(git.ok());
  absl::StatusOr<std::vector<IssueOutcome>> outcomes = ReadIssueOutcomes(*store_, "r1", backlog, *git, base_);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 7u);
  const std::vector<IssueOutcome>& o = *outcomes;
  EXPECT_EQ(o[0].kind, Kind::kResolved);
  EXPECT_EQ(o[0].branch, "swarm/issue-1");
  EXPECT_EQ(o[0].files, (std::vector<std::string>{"a.py", "test_a.py"}));
  EXPECT_EQ(o[0].fixed_tests, std::vector<std::string>{"test_a.T.test_fix"});
  EXPECT_EQ(o[1].reason, "no failing test");
  EXPECT_EQ(o[2].reason, "tests failed");
  EXPECT_EQ(o[3].reason, "budget");
  EXPECT_EQ(o[4].reason, "no change");
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(o[i].kind, Kind::kUnresolved) << i;
  EXPECT_EQ(o[5].kind, Kind::kFailed);
  EXPECT_EQ(o[5].reason, "cannot publish its branch");
  EXPECT_EQ(o[5].detail, "refs/heads/swarm/issue-6 already exists");
  EXPECT_EQ(o[6].kind, Kind::kSkipped);
  EXPECT_EQ(o[6].reason, "--max-issues");
}

// Swarm's own errors are the issue's `failed`, not `unresolved`: the judging that could not be set up,
// an issue planned into several whose test-writing subtask landed nothing, and a run ended by a bug.
TEST_F(IssueOutcomeTest, SwarmsOwnErrorsAreFailedAndATestFirstSubtaskWithoutChangeIsNoFailingTest) {
  v1::Event e;
  auto* s = e.mutable_run_started();
  s->set_repo(repo_);
  s->set_base_commit(base_);
  for (const char* id : {"1", "2.1", "2.2", "3"}) {
    v1::Subtask* t = s->add_subtasks();
    t->set_id(id);
    t->set_lane(std::string(id).substr(0, 1));
    t->set_test_first(std::string(id) == "2.1");
  }
  Apply(e);
  Finish("1", v1::REJECTED_CHECK, "swarm's own error: no baseline to judge it by: the tests gave no results");
  Finish("2.1", v1::NO_CHANGE, "the patch is on the lane already");
  Finish("2.2", v1::LANDED, "");
  v1::Event end;
  end.mutable_run_finished()->set_exit_code(70);
  end.mutable_run_finished()->set_reason("the state database failed");
  Apply(end);
  v1::Backlog backlog = Backlog({"1", "2", "3"});
  backlog.set_require_test(true);
  absl::StatusOr<Git> git = Git::Open(repo_);
  ASSERT_TRUE(git.ok());
  absl::StatusOr<std::vector<IssueOutcome>> o = ReadIssueOutcomes(*store_, "r1", backlog, *git, base_);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ((*o)[0].kind, Kind::kFailed);
  EXPECT_EQ((*o)[0].reason, "swarm's own error");
  EXPECT_EQ((*o)[1].kind, Kind::kUnresolved);
  EXPECT_EQ((*o)[1].reason, "no failing test");
  EXPECT_EQ((*o)[2].kind, Kind::kFailed) << "3 never finished: the run ended on a bug";
  EXPECT_EQ((*o)[2].reason, "swarm's own error");
}

TEST_F(IssueOutcomeTest, ABaseThatFailsItsTestsLeavesEveryIssueUnresolvedSayingSo) {
  Start({"1", "2"});
  v1::Event head;
  head.mutable_test_run()->set_test_stage(v1::TEST_STAGE_HEAD);
  head.mutable_test_run()->set_passed(false);
  Apply(head);
  v1::Event end;
  end.mutable_run_finished()->set_reason("the base commit fails its tests");
  Apply(end);
  absl::StatusOr<Git> git = Git::Open(repo_);
  ASSERT_TRUE(git.ok());
  absl::StatusOr<std::vector<IssueOutcome>> outcomes =
      ReadIssueOutcomes(*store_, "r1", Backlog({"1", "2"}), *git, base_);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  for (const IssueOutcome& o : *outcomes) {
    EXPECT_EQ(o.kind, Kind::kUnresolved);
    EXPECT_EQ(o.reason, "base fails its tests");
  }
}

}  // namespace
}  // namespace swarm
