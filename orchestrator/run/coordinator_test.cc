// The coordinator driven through its AgentHandler: fake hosts register and answer leases, the merge
// stages hold every request until the test releases it with the result it chooses, time is a fake
// clock, and no swarm-agent, socket or bubblewrap is involved. The run's repository, its store and
// its base test (`true`) are real. Every interleaving is the test's choice: the test waits on the
// coordinator's events and messages, never on time.
#include "orchestrator/run/coordinator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "models/fake_model_caller.h"
#include "orchestrator/merge/fake_merge_stages.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/fake_host_channel.h"
#include "orchestrator/run/fake_host_launcher.h"
#include "sandbox/unsandboxed_runner.h"
#include "swarm/v1/protocol.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::Sh;
using ::swarm::testing::Trim;
using ::swarm::testing::TempDir;
using std::chrono::seconds;

constexpr char kTwoSubtasks[] = R"({"subtasks": [
  {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
  {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]}]})";
constexpr char kOneSubtask[] = R"({"subtasks": [
  {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]}]})";

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = dir_ / "repo";
    Sh("git init -q -b main " + repo_ + " && cd " + repo_ +
       " && printf 'a\\n' > a.txt && printf 'b\\n' > b.txt && git add -A && "
       "git -c user.name=t -c user.email=t@t commit -qm base");
    base_ = Trim(Sh("git -C " + repo_ + " rev-parse HEAD"));
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << "the coordinator said:\n" << out_.str() << err_.str();
    if (!runner_.joinable()) return;  // the test finished the run
    // A test that failed half-way: nothing may be left waiting.
    coordinator_->RequestCancel("the test ended");
    checker_.held.Stop();
    queue_.held.Stop();
    checker_.held.ReleaseAll();
    queue_.held.ReleaseAll();
    EndHostsWhenTold();
    runner_.join();
  }

  // Starts a run of `plan_json` on its own thread, with two subtask slots unless `configure` says.
  void Start(const std::string& plan_json, const std::function<void(RunConfig&)>& configure = {},
             bool with_model = false) {
    PreparedRun run;
    run.config.repo = repo_;
    run.config.test_command = "true";
    run.config.agents = 2;
    run.config.heartbeat_interval_s = 1;  // the lease check runs every 250 ms (it reads the fake clock)
    run.config.lease_timeout_s = 30;
    run.config.max_rebases = 1;
    run.config.max_fixups = 1;
    if (configure) configure(run.config);
    absl::StatusOr<Git> git = Git::Open(repo_);
    ASSERT_TRUE(git.ok()) << git.status();
    run.user.emplace(std::move(*git));
    run.repo_root = repo_;
    run.base = base_;
    absl::StatusOr<Plan> plan = ParsePlan(plan_json, "plan.json");
    ASSERT_TRUE(plan.ok()) << plan.status();
    run.plan = std::move(*plan);
    run.state_dir = dir_ / "state";
    run.run_id = absl::StrCat("t", getpid());  // its workspaces live under /dev/shm/swarm-RUN
    run.agent_binary = "/bin/false";  // never started: the launcher is a fake

    CoordinatorOptions options;
    options.handle_signals = false;
    options.host_launcher = &launcher_;
    options.checker = &checker_;
    options.merge_queue = &queue_;
    options.clock = &clock_;
    options.serve_agent_api = false;
    if (with_model) options.model_caller = &model_;
    options.on_event = [this](const v1::Event& e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
    coordinator_ = std::make_unique<Coordinator>(std::move(run), std::make_unique<UnsandboxedRunner>(), out_, err_,
                                                 options);
    runner_ = std::thread([this] { exit_code_ = coordinator_->Run(); });
    // Once the run has started, its executor exists and takes posted work.
    ASSERT_TRUE(WaitForEvent([](const v1::Event& e) { return e.has_run_started(); }));
  }

  // Runs `task` on the coordinator's executor and waits for it: the AgentHandler's calls are made there.
  void OnExecutor(std::function<void()> task) {
    std::mutex m;
    std::condition_variable done_cv;
    bool done = false;
    ASSERT_TRUE(coordinator_->Post([&] {
      task();
      std::lock_guard<std::mutex> lock(m);
      done = true;
      done_cv.notify_all();
    })) << "the run has not started";
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(done_cv.wait_for(lock, seconds(30), [&] { return done; })) << "the executor did not run the task";
  }

  std::shared_ptr<FakeHostChannel> Register(const std::string& host_id, int slots, bool ask = true) {
    auto channel = std::make_shared<FakeHostChannel>(++next_channel_);
    v1::HostMessage m;
    m.mutable_register_()->set_host_id(host_id);
    m.mutable_register_()->set_slots(slots);
    m.mutable_register_()->set_protocol(kAgentProtocolVersion);
    OnExecutor([&] { coordinator_->OnHostMessage(channel, m); });
    channels_.push_back(channel);
    if (ask) Ready(channel, slots);  // as a host does once registered
    return channel;
  }

  // The host asks for `n` more leases, as a host does when it can start them.
  void Ready(const std::shared_ptr<FakeHostChannel>& host, int n) {
    v1::HostMessage m;
    m.mutable_ready()->set_attempts(n);
    OnExecutor([&] { coordinator_->OnHostMessage(host, m); });
  }

  // The next lease the host was given (of `subtask` if named).
  v1::Lease NextLease(FakeHostChannel& host, const std::string& subtask = "") {
    std::optional<v1::CoordinatorMessage> m = host.WaitFor([&](const v1::CoordinatorMessage& m) {
      return m.has_lease() && (subtask.empty() || m.lease().subtask().id() == subtask);
    });
    EXPECT_TRUE(m.has_value()) << "no lease for " << (subtask.empty() ? "any subtask" : subtask);
    return m ? m->lease() : v1::Lease();
  }

  // A patch that writes `content` into `file` on the lease's base: what an agent's host would send.
  v1::AttemptResult Patch(const v1::Lease& lease, const std::string& file, const std::string& content) {
    std::string index = dir_ / ("index-" + lease.lease_id());
    std::string env = "GIT_INDEX_FILE=" + index + " git -C " + repo_;
    Sh(env + " read-tree " + lease.base_commit());
    std::string blob = Trim(Sh("printf '" + content + "' | git -C " + repo_ + " hash-object -w --stdin"));
    Sh(env + " update-index --add --cacheinfo 100644," + blob + "," + file);
    std::string tree = Trim(Sh(env + " write-tree"));
    v1::AttemptResult r;
    r.set_lease_id(lease.lease_id());
    r.set_fence(lease.fence());
    r.set_outcome(v1::AttemptResult::PATCH);
    r.set_base_commit(lease.base_commit());
    r.set_tree(tree);
    r.set_patch(Sh("git -C " + repo_ + " diff --binary --full-index " + lease.base_commit() + " " + tree));
    return r;
  }

  // The result, and the host asks for another lease: its slot is free again.
  void Send(const std::shared_ptr<FakeHostChannel>& host, const v1::AttemptResult& result) {
    v1::HostMessage m;
    *m.mutable_result() = result;
    OnExecutor([&] { coordinator_->OnHostMessage(host, m); });
    Ready(host, 1);
  }

  // Waits for an event that matches and was not returned before.
  std::optional<v1::Event> WaitForEvent(const std::function<bool(const v1::Event&)>& match) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<v1::Event> found;
    cv_.wait_for(lock, seconds(30), [&] {
      for (std::size_t i = 0; i < events_.size(); ++i) {
        if (!returned_.count(i) && match(events_[i])) {
          returned_.insert(i);
          found = events_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }

  std::optional<v1::Event> WaitForFinished(const std::string& id) {
    return WaitForEvent([&](const v1::Event& e) {
      return e.has_subtask_finished() && e.subtask_finished().subtask_id() == id &&
             e.subtask_finished().state() != v1::FIX_UP_PENDING;
    });
  }

  std::vector<v1::Event> Events(const std::function<bool(const v1::Event&)>& match) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<v1::Event> out;
    for (const auto& e : events_) {
      if (match(e)) out.push_back(e);
    }
    return out;
  }

  static CheckResult Pass() {
    CheckResult r;
    r.pass = true;
    r.tested = true;
    r.test.passed = true;
    return r;
  }
  static MergeResult Landed(const std::string& commit) {
    MergeResult r;
    r.outcome = MergeResult::Outcome::kLanded;
    r.commit = commit;
    r.tested = true;
    r.test.passed = true;
    return r;
  }
  static MergeResult Rejected(MergeResult::Outcome outcome, const std::string& detail) {
    MergeResult r;
    r.outcome = outcome;
    r.detail = detail;
    r.tested = outcome == MergeResult::Outcome::kTestsFailed;
    if (outcome == MergeResult::Outcome::kConflict) r.conflict_json = R"({"files":["a.txt"]})";
    return r;
  }

  // Passes the oldest check and lands it in the queue.
  void CheckAndLand(const std::string& commit = "") {
    checker_.held.WaitForRequest();
    checker_.held.Release(Pass());
    queue_.held.WaitForRequest();
    queue_.held.Release(Landed(commit.empty() ? base_ : commit));
  }

  // The run told its hosts to leave: they do, as their processes would.
  void EndHostsWhenTold() {
    for (const auto& channel : channels_) EXPECT_TRUE(channel->WaitClosed()) << "host " << channel->id();
    coordinator_->Post([this] {
      for (const auto& [id, slots] : launcher_.running()) launcher_.End(id);
    });
  }

  int Finish() {
    EndHostsWhenTold();
    runner_.join();
    return exit_code_;
  }

  TempDir dir_;
  std::string repo_, base_;
  FakeHostLauncher launcher_;
  FakePatchChecker checker_;
  FakeMergeQueue queue_;
  FakeModelCaller model_;
  FakeClock clock_;
  std::ostringstream out_, err_;
  std::unique_ptr<Coordinator> coordinator_;
  std::thread runner_;
  int exit_code_ = -1;
  std::uint64_t next_channel_ = 0;
  std::vector<std::shared_ptr<FakeHostChannel>> channels_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::Event> events_;
  std::set<std::size_t> returned_;
};

TEST_F(CoordinatorTest, APatchLandsAfterItsCheckAndTheQueueAndTheRunEndsOk) {
  Start(kOneSubtask);
  auto host = Register("host-1", 2);
  OnExecutor([&] { EXPECT_EQ(launcher_.running(), (std::map<std::string, int>{{"host-1", 2}})); });
  ASSERT_TRUE(host->WaitFor([](const v1::CoordinatorMessage& m) { return m.has_registered(); }));
  v1::Lease lease = NextLease(*host, "a");
  EXPECT_EQ(lease.base_commit(), base_);
  Send(host, Patch(lease, "a.txt", "a done\\n"));
  ASSERT_TRUE(WaitForEvent([](const v1::Event& e) { return e.has_patch_submitted(); }));
  MergeRequest checked = checker_.held.WaitForRequest();
  ASSERT_EQ(checked.patches.size(), 1u);
  EXPECT_EQ(checked.patches[0].subtask_id, "a");
  EXPECT_EQ(queue_.held.size(), 0u) << "the queue sees a patch only after its check";
  checker_.held.Release(Pass());
  queue_.held.WaitForRequest();
  queue_.held.Release(Landed(base_));
  std::optional<v1::Event> done = WaitForFinished("a");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->subtask_finished().state(), v1::LANDED);
  EXPECT_EQ(Finish(), kExitOk) << err_.str();
}

TEST_F(CoordinatorTest, AConflictIsRedoneOnTheNewHeadToldWhatConflictedThenExhaustsItsRebases) {
  Start(kOneSubtask);  // max_rebases 1
  auto host = Register("host-1", 2);
  v1::Lease first = NextLease(*host, "a");
  EXPECT_EQ(first.conflict_json(), "");
  Send(host, Patch(first, "a.txt", "one\\n"));
  checker_.held.WaitForRequest();
  checker_.held.Release(Pass());
  queue_.held.WaitForRequest();
  queue_.held.Release(Rejected(MergeResult::Outcome::kConflict, "a.txt conflicts"));
  v1::Lease second = NextLease(*host, "a");
  EXPECT_EQ(second.conflict_json(), R"({"files":["a.txt"]})");
  EXPECT_EQ(second.attempt(), first.attempt() + 1);
  EXPECT_GT(second.fence(), first.fence());
  Send(host, Patch(second, "a.txt", "two\\n"));
  checker_.held.WaitForRequest();
  checker_.held.Release(Pass());
  queue_.held.WaitForRequest();
  queue_.held.Release(Rejected(MergeResult::Outcome::kConflict, "a.txt conflicts again"));
  std::optional<v1::Event> done = WaitForFinished("a");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->subtask_finished().state(), v1::CONFLICT_EXHAUSTED);
  EXPECT_NE(done->subtask_finished().reason().find("after 1 rebases"), std::string::npos)
      << done->subtask_finished().reason();
  EXPECT_EQ(Finish(), kExitIncomplete);
}

TEST_F(CoordinatorTest, FailedTestsGetOneFixUpToldTheLogAndPatchThenTheSubtaskIsRejected) {
  Start(kOneSubtask, {}, /*with_model=*/true);  // max_fixups 1
  auto host = Register("host-1", 2);
  v1::Lease first = NextLease(*host, "a");
  EXPECT_EQ(first.failure_json(), "");
  Send(host, Patch(first, "a.txt", "broken\\n"));
  checker_.held.WaitForRequest();
  checker_.held.Release(Pass());
  queue_.held.WaitForRequest();
  std::string log = dir_ / "queue.test.log";
  Sh("printf 'FAIL: test_a expected 1 got 2\\n' > " + log);
  MergeResult failed = Rejected(MergeResult::Outcome::kTestsFailed, "tests failed");
  failed.log_path = log;
  queue_.held.Release(failed);
  std::optional<v1::Event> pending = WaitForEvent([](const v1::Event& e) {
    return e.has_subtask_finished() && e.subtask_finished().state() == v1::FIX_UP_PENDING;
  });
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->subtask_finished().reason(), "its patch failed the tests; fix-up 1 of 1");
  v1::Lease fixup = NextLease(*host, "a");
  EXPECT_NE(fixup.failure_json().find("expected 1 got 2"), std::string::npos) << fixup.failure_json();
  EXPECT_NE(fixup.failure_json().find("+broken"), std::string::npos) << "the failed patch is told too";
  Send(host, Patch(fixup, "a.txt", "still broken\\n"));
  checker_.held.WaitForRequest();
  checker_.held.Release(Pass());
  queue_.held.WaitForRequest();
  queue_.held.Release(failed);
  std::optional<v1::Event> done = WaitForFinished("a");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->subtask_finished().state(), v1::REJECTED_QUEUE);
  EXPECT_EQ(Finish(), kExitIncomplete);
}

TEST_F(CoordinatorTest, WithoutAModelFailedTestsRejectThePatchAtOnce) {
  Start(kOneSubtask);
  auto host = Register("host-1", 2);
  Send(host, Patch(NextLease(*host, "a"), "a.txt", "broken\\n"));
  checker_.held.WaitForRequest();
  CheckResult failed;
  failed.tested = true;
  failed.why = "tests failed alone on its base";
  checker_.held.Release(failed);
  std::optional<v1::Event> done = WaitForFinished("a");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->subtask_finished().state(), v1::REJECTED_CHECK);
  EXPECT_EQ(queue_.held.size(), 0u);
  EXPECT_EQ(Finish(), kExitIncomplete);
}

TEST_F(CoordinatorTest, AnExpiredLeaseGoesToAnotherHostAndItsLateResultIsRefused) {
  Start(kOneSubtask, [](RunConfig& c) { c.agent_hosts = 2; });
  auto slow = Register("host-1", 1);
  auto other = Register("host-2", 1);
  v1::Lease lost = NextLease(*slow, "a");
  OnExecutor([&] { clock_.Advance(seconds(31)); });  // no heartbeat for longer than the lease time-out
  std::optional<v1::Event> expired = WaitForEvent([](const v1::Event& e) { return e.has_lease_expired(); });
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->lease_expired().host_id(), "host-1");
  ASSERT_TRUE(slow->WaitFor([&](const v1::CoordinatorMessage& m) {
    return m.has_cancel() && m.cancel().lease_id() == lost.lease_id();
  })) << "the host is told to stop the attempt";
  v1::Lease again = NextLease(*other, "a");
  EXPECT_GT(again.fence(), lost.fence());
  Send(slow, Patch(lost, "a.txt", "late\\n"));
  std::optional<v1::Event> refused = WaitForEvent([](const v1::Event& e) { return e.has_result_refused(); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result_refused().lease_id(), lost.lease_id());
  EXPECT_EQ(refused->result_refused().host_id(), "host-1");
  Send(other, Patch(again, "a.txt", "on time\\n"));
  CheckAndLand();
  ASSERT_EQ(WaitForFinished("a")->subtask_finished().state(), v1::LANDED);
  EXPECT_EQ(Events([](const v1::Event& e) { return e.has_patch_submitted(); }).size(), 1u) << "done once";
  EXPECT_EQ(Finish(), kExitOk);
}

TEST_F(CoordinatorTest, AHeartbeatKeepsTheLeaseAliveWhileASilentHostsLeaseExpires) {
  Start(kTwoSubtasks, [](RunConfig& c) { c.agent_hosts = 2; });
  auto beating = Register("host-1", 1);
  auto silent = Register("host-2", 1);
  v1::Lease kept = NextLease(*beating, "a");
  v1::Lease lost = NextLease(*silent, "b");
  v1::HostMessage beat;
  beat.mutable_heartbeat()->add_lease_ids(kept.lease_id());
  OnExecutor([&] {
    clock_.Advance(seconds(20));
    coordinator_->OnHostMessage(beating, beat);
    clock_.Advance(seconds(20));  // 40 s: past the silent host's deadline, 20 s into the renewed one
  });
  // The lease check ran after the clock moved: the silent host's lease expired in it.
  std::optional<v1::Event> expired = WaitForEvent([](const v1::Event& e) { return e.has_lease_expired(); });
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->lease_expired().lease_id(), lost.lease_id());
  Send(beating, Patch(kept, "a.txt", "a\\nmore\\n"));
  CheckAndLand();
  ASSERT_EQ(WaitForFinished("a")->subtask_finished().state(), v1::LANDED);
  EXPECT_EQ(Events([](const v1::Event& e) { return e.has_lease_expired(); }).size(), 1u) << "only the silent one";
  v1::Lease again = NextLease(*beating, "b");  // b went back for another attempt
  Send(beating, Patch(again, "b.txt", "b\\nmore\\n"));
  CheckAndLand();
  ASSERT_EQ(WaitForFinished("b")->subtask_finished().state(), v1::LANDED);
  EXPECT_EQ(Finish(), kExitOk);
}

TEST_F(CoordinatorTest, AHostIsLeasedOnlyWhatItAskedForAsItCanStartIt) {
  Start(kTwoSubtasks);
  auto host = Register("host-1", 4, /*ask=*/false);
  ASSERT_TRUE(host->WaitFor([](const v1::CoordinatorMessage& m) { return m.has_registered(); }));
  OnExecutor([] {});  // anything it would have done on registering is done
  auto leases = [&] {
    int n = 0;
    for (const auto& m : host->sent()) n += m.has_lease();
    return n;
  };
  EXPECT_EQ(leases(), 0) << "a registered host that asked for nothing holds nothing";
  Ready(host, 1);
  v1::Lease first = NextLease(*host);
  OnExecutor([] {});
  EXPECT_EQ(leases(), 1) << "one asked for, one given, though a second subtask is ready and 3 slots free";
  Ready(host, 1);
  v1::Lease second = NextLease(*host);
  EXPECT_NE(first.subtask().id(), second.subtask().id());
  EXPECT_EQ(Events([](const v1::Event& e) { return e.has_lease_expired(); }).size(), 0u);
  Send(host, Patch(first, first.subtask().id() + ".txt", "x\\n"));
  Send(host, Patch(second, second.subtask().id() + ".txt", "y\\n"));
  CheckAndLand();
  CheckAndLand();
  ASSERT_TRUE(WaitForFinished("a").has_value());
  ASSERT_TRUE(WaitForFinished("b").has_value());
  EXPECT_EQ(Finish(), kExitOk) << err_.str();
}

TEST_F(CoordinatorTest, AResultWithAStaleFenceOrFromAnotherHostDoesNotCount) {
  Start(kOneSubtask, [](RunConfig& c) { c.agent_hosts = 2; });
  auto host = Register("host-1", 1);
  auto impostor = Register("host-2", 1);
  v1::Lease lease = NextLease(*host, "a");
  v1::AttemptResult stale = Patch(lease, "a.txt", "stale\\n");
  stale.set_fence(lease.fence() + 7);
  Send(host, stale);
  Send(impostor, Patch(lease, "a.txt", "not yours\\n"));
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::Event> refused = WaitForEvent([](const v1::Event& e) { return e.has_result_refused(); });
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->result_refused().reason(), "stale fence or other host");
  }
  Send(host, Patch(lease, "a.txt", "right\\n"));
  CheckAndLand();
  ASSERT_EQ(WaitForFinished("a")->subtask_finished().state(), v1::LANDED);
  EXPECT_EQ(Finish(), kExitOk);
}

TEST_F(CoordinatorTest, ACancelMidMergeStopsTheQueueAndEndsEverySubtaskCancelled) {
  Start(kTwoSubtasks, [](RunConfig& c) { c.agents = 1; });
  auto host = Register("host-1", 1);
  Send(host, Patch(NextLease(*host, "a"), "a.txt", "a done\\n"));
  checker_.held.WaitForRequest();
  checker_.held.Release(Pass());
  queue_.held.WaitForRequest();  // a is in the queue, b has its lease
  v1::Lease b = NextLease(*host, "b");
  coordinator_->RequestCancel("stopped by the test");
  ASSERT_TRUE(host->WaitFor([](const v1::CoordinatorMessage& m) { return m.has_shutdown(); }));
  EXPECT_TRUE(queue_.cancelled());
  EXPECT_TRUE(checker_.cancelled());
  MergeResult dropped;
  dropped.detail = "cancelled";
  queue_.held.Release(dropped);
  std::optional<v1::Event> a = WaitForFinished("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->subtask_finished().state(), v1::CANCELLED);
  EXPECT_NE(a->subtask_finished().reason().find("stopped by the test"), std::string::npos);
  EXPECT_EQ(Finish(), kExitCancelled);
  std::optional<v1::Event> b_done = WaitForFinished("b");
  ASSERT_TRUE(b_done.has_value());
  EXPECT_EQ(b_done->subtask_finished().state(), v1::CANCELLED);
  EXPECT_EQ(Events([](const v1::Event& e) { return e.has_landed(); }).size(), 0u);
}

TEST_F(CoordinatorTest, ACallRefusedOnTheBudgetStopsNewLeasesAndTheRunEndsOnTheBudget) {
  Start(kTwoSubtasks, [](RunConfig& c) { c.agents = 1; }, /*with_model=*/true);
  auto host = Register("host-1", 1);
  v1::Lease a = NextLease(*host, "a");
  v1::CompleteRequest call;
  call.set_lease_id(a.lease_id());
  call.set_fence(a.fence());
  std::optional<absl::StatusOr<v1::ChatReply>> answer;
  OnExecutor([&] {
    coordinator_->OnComplete(call, [&](absl::StatusOr<v1::ChatReply> r) { answer = std::move(r); });
  });
  ASSERT_EQ(model_.open().size(), 1u);
  OnExecutor([&] {
    model_.Finish(1, absl::ResourceExhaustedError("the run's budget of $1.00 is spent"), /*refused_by_run_budget=*/true);
  });
  std::optional<v1::Event> called = WaitForEvent([](const v1::Event& e) { return e.has_model_called(); });
  ASSERT_TRUE(called.has_value());
  EXPECT_EQ(called->model_called().call().step(), 1u);
  OnExecutor([] {});  // the answer is given on the executor, after the call was recorded
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status().code(), absl::StatusCode::kResourceExhausted);
  // The agent gives up; b is never leased.
  v1::AttemptResult failed;
  failed.set_lease_id(a.lease_id());
  failed.set_fence(a.fence());
  failed.set_outcome(v1::AttemptResult::FAILED);
  failed.set_error("the model refused: budget");
  Send(host, failed);
  EXPECT_EQ(Finish(), kExitBudget) << err_.str();
  EXPECT_EQ(Events([](const v1::Event& e) { return e.has_subtask_leased(); }).size(), 1u);
  EXPECT_NE(err_.str().find("stopping on the budget"), std::string::npos) << err_.str();
}

TEST_F(CoordinatorTest, AHostThatGoesAwayLosesItsLeasesToTheOthersAndIsStopped) {
  Start(kOneSubtask, [](RunConfig& c) { c.agent_hosts = 2; });
  auto gone = Register("host-1", 1);
  auto other = Register("host-2", 1);
  v1::Lease lost = NextLease(*gone, "a");
  OnExecutor([&] { coordinator_->OnHostGone(gone); });
  std::erase(channels_, gone);  // it hears no shutdown
  std::optional<v1::Event> finished = WaitForEvent([](const v1::Event& e) { return e.has_attempt_finished(); });
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->attempt_finished().error(), "agent host host-1 went away");
  OnExecutor([&] { EXPECT_EQ(launcher_.killed(), (std::set<std::string>{"host-1"})); });
  coordinator_->Post([&] { launcher_.End("host-1", "killed by signal 9"); });  // its process ends later
  v1::Lease again = NextLease(*other, "a");
  EXPECT_NE(again.lease_id(), lost.lease_id());
  Send(other, Patch(again, "a.txt", "elsewhere\\n"));
  CheckAndLand();
  ASSERT_EQ(WaitForFinished("a")->subtask_finished().state(), v1::LANDED);
  EXPECT_EQ(Finish(), kExitOk);
}

TEST_F(CoordinatorTest, WhenTheOnlyHostGoesAwayItsLeaseFailsFirstThenTheRunStopsForWantOfHosts) {
  Start(kOneSubtask);  // one host
  auto only = Register("host-1", 2);
  NextLease(*only, "a");
  OnExecutor([&] { coordinator_->OnHostGone(only); });
  std::erase(channels_, only);
  std::optional<v1::Event> failed = WaitForEvent([](const v1::Event& e) { return e.has_attempt_finished(); });
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->attempt_finished().error(), "agent host host-1 went away");
  coordinator_->Post([&] { launcher_.End("host-1", "killed by signal 9"); });
  runner_.join();
  EXPECT_EQ(exit_code_, kExitInternal);
  EXPECT_NE(err_.str().find("no agent host is left to run the remaining subtasks"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace swarm
