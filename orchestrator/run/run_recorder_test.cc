#include "orchestrator/run/run_recorder.h"

#include <gtest/gtest.h>

#include <sstream>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::TempDir;

class RunRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir_.path() + "/swarm.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  std::unique_ptr<RunRecorder> Recorder(bool json, bool terminal, const std::string& log_dir = "") {
    return std::make_unique<RunRecorder>(RunRecorder::Options{"r1", log_dir.empty() ? dir_.path() : log_dir, json,
                                                              terminal},
                                         *store_, out_, err_, [this] { return counts_; });
  }
  static v1::Event Started() {
    v1::Event e;
    auto* s = e.mutable_run_started();
    s->set_repo("/repo");
    s->set_base_commit(std::string(40, 'a'));
    s->add_subtasks()->set_id("a");
    return e;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::ostringstream out_, err_;
  ProgressCounts counts_{.total = 3};
};

TEST_F(RunRecorderTest, AnEventIsStoredWithTheRunsIdBeforeItIsShownAsJson) {
  auto recorder = Recorder(/*json=*/true, false);
  ASSERT_TRUE(recorder->Emit(Started()).ok());
  absl::StatusOr<std::vector<v1::Event>> events = store_->Events("r1");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].run_id(), "r1");
  EXPECT_NE(out_.str().find("\"run_started\""), std::string::npos) << out_.str();
  EXPECT_EQ(out_.str().back(), '\n');
  recorder->Progress();  // nothing with --json
  const std::string out = out_.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST_F(RunRecorderTest, EventsKeepTheirOrderOneJsonLineEach) {
  auto recorder = Recorder(/*json=*/true, false);
  ASSERT_TRUE(recorder->Emit(Started()).ok());
  v1::Event landed;
  landed.mutable_landed()->add_subtask_ids("a");
  ASSERT_TRUE(recorder->Emit(landed).ok());
  absl::StatusOr<std::vector<v1::Event>> events = store_->Events("r1");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_LT((*events)[0].seq(), (*events)[1].seq());
  EXPECT_TRUE((*events)[1].has_landed());
  const std::string out = out_.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_LT(out.find("run_started"), out.find("landed"));
}

TEST_F(RunRecorderTest, ALogGetsALineOnlyWhenTheCountsChange) {
  auto recorder = Recorder(false, /*terminal=*/false);
  recorder->Progress();
  counts_.busy_agents = 2;  // not a count of the log's: no new line
  recorder->Progress();
  counts_.landed = 1;
  recorder->Progress();
  recorder->Progress();
  EXPECT_EQ(out_.str(),
            "swarm: 0/3 done: 0 landed, 0 failed, 0 skipped | 0 agents busy, 0 merging\n"
            "swarm: 1/3 done: 1 landed, 0 failed, 0 skipped | 2 agents busy, 0 merging\n");
}

TEST_F(RunRecorderTest, ATerminalGetsOneLineRewrittenAndWhatIsSaidGoesBelowIt) {
  auto recorder = Recorder(false, /*terminal=*/true);
  counts_.unchanged = 1;
  recorder->Progress();
  EXPECT_TRUE(recorder->progress_open());
  EXPECT_EQ(out_.str(), "\r\033[Kswarm: 1/3 done: 0 landed, 0 failed, 0 skipped, 1 unchanged | 0 agents busy, 0 merging");
  recorder->Say("swarm: something happened");
  EXPECT_EQ(err_.str(), "\nswarm: something happened\n");
  EXPECT_FALSE(recorder->progress_open());
  recorder->Progress();  // the same counts are shown again, below
  EXPECT_TRUE(recorder->progress_open());
  recorder->EndProgress();
  EXPECT_EQ(out_.str().back(), '\n');
  recorder->Quiet();
  counts_.landed = 1;
  std::string before = out_.str();
  recorder->Progress();
  EXPECT_EQ(out_.str(), before);
}

TEST_F(RunRecorderTest, LogsAreFilesAndAFullDiskIsAnError) {
  auto recorder = Recorder(false, false);
  absl::StatusOr<std::string> path = recorder->WriteLog("a.1.agent.log", "hello");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(swarm::testing::ReadFile(*path), "hello");
  auto full = Recorder(false, false, "/dev");
  absl::StatusOr<std::string> refused = full->WriteLog("full", std::string(1 << 16, 'x'));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("/dev/full"), std::string::npos) << refused.status();
}

}  // namespace
}  // namespace swarm
