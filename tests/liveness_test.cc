// Liveness under load: heartbeats are recorded as they arrive and sent from a thread of their own, a
// host is leased only what it can start, and an expired lease stops its attempt on the host. The
// load is made, not hoped for: SWARM_DELAYPOINT (base/failpoint.h) makes a host's workspace step or
// the coordinator's store writes block for longer than the lease time-out.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sandbox/process.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

class LivenessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    for (int i = 0; i < 4; ++i) WriteFile(absl::StrCat(repo(), "/f", i, ".txt"), "x\n");
    CommitAll(repo(), "base");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }

  // Four shards, one file each, landed one by one; leases time out after 2 s without a heartbeat.
  std::vector<std::string> RunArgs(const std::string& agent, int agents) {
    return {"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "4", "--independent",
            "--agents", std::to_string(agents), "--lease-timeout", "2", "--heartbeat-interval", "1",
            "--agent-cmd", agent, "--test-cmd", "true"};
  }

  // Every subtask landed from its first attempt, with no lease expired and no result refused.
  void ExpectHealthy(const CliResult& r) {
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::map<std::string, int> leases;
    for (const v1::Event& e : OnlyRunEvents(state())) {
      EXPECT_FALSE(e.has_lease_expired()) << e.ShortDebugString();
      EXPECT_FALSE(e.has_result_refused()) << e.ShortDebugString();
      if (e.has_subtask_leased()) ++leases[e.subtask_leased().subtask_id()];
    }
    EXPECT_EQ(leases.size(), 4u);
    for (const auto& [id, n] : leases) EXPECT_EQ(n, 1) << id << " was leased more than once";
    for (const auto& [id, outcome] : Outcomes(OnlyReport(state()))) EXPECT_EQ(outcome, "landed") << id;
  }

  TempDir dir_;
};

TEST_F(LivenessTest, AHostWhoseWorkspaceStepBlocksPastTheLeaseTimeOutKeepsItsLeases) {
  // Every workspace takes 4 s to make, twice the lease time-out: the heartbeats do not wait for it.
  ExpectHealthy(RunSwarm(RunArgs("echo y >> $SWARM_FILES", 4), {"SWARM_DELAYPOINT=workspace:4000"}));
}

TEST_F(LivenessTest, ACoordinatorBusyWritingItsStoreDoesNotExpireTheLeasesOfLiveHosts) {
  // Every event the coordinator records blocks its executor for 0.7 s: heartbeats queue behind the
  // writes for longer than the lease time-out, but they are recorded as they arrive.
  ExpectHealthy(RunSwarm(RunArgs("sleep 2; echo y >> $SWARM_FILES", 4), {"SWARM_DELAYPOINT=record:700"}));
}

TEST_F(LivenessTest, AHostNeverHoldsMoreLeasesThanItCanStart) {
  // One host with four slots, each workspace slow to make: the host asks for at most as many leases
  // as it sets up at once (2 by default on this machine, the cores otherwise), so leases come in
  // waves as workspaces are made, not all at once.
  CliResult r = RunSwarm(RunArgs("echo y >> $SWARM_FILES", 4), {"SWARM_DELAYPOINT=workspace:1500"});
  ExpectHealthy(r);
  std::vector<std::int64_t> leased;
  for (const v1::Event& e : OnlyRunEvents(state())) {
    if (e.has_subtask_leased()) leased.push_back(e.time_unix_ms());
  }
  ASSERT_EQ(leased.size(), 4u);
  const int starts = std::max(2u, std::thread::hardware_concurrency());
  if (starts < 4) {
    // The last lease waited for a workspace to be made (1.5 s) before the host asked for it.
    EXPECT_GE(leased[3] - leased[0], 1000) << "all four leased at once: the host took more than it could start";
  }
}

TEST_F(LivenessTest, AnExpiredLeaseStopsItsAttemptOnTheHost) {
  // f0's first attempt would sleep for ten minutes; its host is stopped (silent) until the lease
  // expires, then resumed: told that the lease expired, it kills the attempt at once, and its
  // result comes back (refused) while f3's agent still keeps the run open.
  const std::string marker = absl::StrCat("601.", getpid());
  std::string agent = absl::StrCat("case \"$SWARM_SUBTASK_ID.$SWARM_ATTEMPT\" in shard-1.1) sleep ", marker,
                                   ";; shard-4.*) sleep 8;; esac; echo y >> $SWARM_FILES");
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm"};
  for (const auto& a : RunArgs(agent, 2)) spec.argv.push_back(a);
  spec.argv.insert(spec.argv.end(), {"--agent-hosts", "2"});
  spec.timeout = std::chrono::seconds(200);
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });

  pid_t host = HostPidHoldingLease(state(), "shard-1");
  ASSERT_GT(host, 0);
  ASSERT_EQ(kill(host, SIGSTOP), 0);
  auto expired = WaitForEvent(state(), [](const v1::Event& e) { return e.has_lease_expired(); });
  kill(host, SIGCONT);
  ASSERT_TRUE(expired.has_value());
  auto refused = WaitForEvent(state(), [](const v1::Event& e) {
    return e.has_result_refused() && absl::StartsWith(e.result_refused().lease_id(), "shard-1#1-");
  });
  ASSERT_TRUE(refused.has_value()) << "the expired attempt was not stopped: no result came back";
  EXPECT_EQ(Sh("pgrep -f '^sleep " + marker + "' || true"), "") << "the expired attempt's command still runs";
  runner.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->out << result->err;
  bool finished_before = false;
  for (const v1::Event& e : OnlyRunEvents(state())) {
    if (e.has_result_refused()) break;
    if (e.has_run_finished()) finished_before = true;
  }
  EXPECT_FALSE(finished_before) << "the result came only when the run ended";
  EXPECT_EQ(Outcomes(OnlyReport(state()))["shard-1"], "landed");
}

}  // namespace
}  // namespace swarm::testing
