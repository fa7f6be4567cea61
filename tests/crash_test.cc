// Nothing lost: the coordinator SIGKILLed at known points, then `swarm resume`; an agent host
// SIGKILLed while it holds leases; `swarm cancel` of live and dead runs. Kills happen at a known
// state, never by luck: agent commands for c and d block on FIFOs that the test controls, and the
// coordinator kills itself at a failpoint (orchestrator/failpoint.h) reached at a known point.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orchestrator/store/store.h"
#include "sandbox/pid_ledger.h"
#include "sandbox/process.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

// a, b, c, d touch their own files; e and f form the atomic group g after a. With the gate closed,
// c and d block on their FIFOs (nobody writes them), so their leases stay held while a, b and the
// group land. Once the gate is open (the file "open"), new attempts go straight through.
constexpr char kPlan[] = R"({"subtasks": [
  {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
  {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]},
  {"id": "c", "title": "C", "instructions": "", "files": ["c.txt"]},
  {"id": "d", "title": "D", "instructions": "", "files": ["d.txt"]},
  {"id": "e", "title": "E", "instructions": "", "files": ["e.txt"], "group": "g", "depends_on": ["a"]},
  {"id": "f", "title": "F", "instructions": "", "files": ["f.txt"], "group": "g", "depends_on": ["a"]}]})";

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    for (const char* f : {"a", "b", "c", "d", "e", "f"}) WriteFile(repo() + "/" + f + ".txt", "x\n");
    CommitAll(repo(), "base");
    base_ = Git("rev-parse HEAD");
    WriteFile(dir_ / "plan.json", kPlan);
    fs::create_directories(gate());
    for (const char* f : {"c", "d"}) Sh("mkfifo " + gate() + "/" + f + ".fifo");
  }

  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  // Holds the FIFOs and, once opened, the file "open"; its path in an agent's command line marks the
  // agent's processes.
  std::string gate() const { return dir_ / "gate"; }
  std::string Git(const std::string& args) { return Trim(Sh("git -C " + repo() + " " + args)); }

  std::vector<std::string> RunArgs(int agents, const std::vector<std::string>& extra = {},
                                   bool wait_in_subshell = false) {
    const std::string wait = "read x < " + gate() + "/$SWARM_SUBTASK_ID.fifo";
    std::string agent = "if [ ! -e " + gate() + "/open ]; then case $SWARM_SUBTASK_ID in c|d) " +
                        (wait_in_subshell ? "(" + wait + ")" : wait) + ";; esac; fi; echo \"$SWARM_SUBTASK_ID done\" >> $SWARM_SUBTASK_ID.txt";
    std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                                     "--agents", std::to_string(agents), "--sandbox-ro-bind", gate(), "--agent-cmd",
                                     agent, "--test-cmd", "sleep 0.1; grep -q x a.txt"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Opens the gate: later attempts go straight through, and an attempt blocked on its FIFO now
  // reads from it (a writer waits up to 20 s for a reader, in the background).
  void OpenGate() {
    WriteFile(gate() + "/open", "");
    for (const char* f : {"c", "d"}) Sh("(timeout 20 sh -c 'echo go > " + gate() + "/" + f + ".fifo' &) >/dev/null 2>&1");
  }

  std::string OnlyRunId() {
    std::vector<std::string> runs;
    std::error_code ec;
    for (const auto& r : fs::directory_iterator(state() + "/runs", ec)) runs.push_back(r.path().filename());
    EXPECT_EQ(runs.size(), 1u);
    return runs.empty() ? "" : runs[0];
  }

  // Processes (not zombies) whose command line names the gate: agents of any coordinator.
  std::vector<int> AgentProcesses() {
    std::vector<int> found;
    std::error_code ec;
    for (const auto& p : fs::directory_iterator("/proc", ec)) {
      int pid = atoi(p.path().filename().c_str());
      if (pid <= 0) continue;
      std::string cmdline = ReadFile(p.path() / "cmdline");
      if (cmdline.find(gate() + "/") != std::string::npos && PidLedger::StartTime(pid)) found.push_back(pid);
    }
    return found;
  }

  std::map<std::string, int> Landings(const std::string& branch) { return testing::Landings(repo(), base_, branch); }

  TempDir dir_;
  std::string base_;
};

// The tree an uninterrupted run produces (the gate open from the start).
TEST_F(CrashTest, UninterruptedRunLandsEverySubtaskOnce) {
  WriteFile(gate() + "/open", "");
  CliResult r = RunSwarm(RunArgs(4));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string branch = "swarm/" + OnlyRunId();
  std::map<std::string, int> landings = Landings(branch);
  EXPECT_EQ(landings, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}}));
  EXPECT_EQ(Git("rev-list --count " + base_ + ".." + branch), "5") << "a, b, c, d and the group g";
  for (const char* f : {"a", "b", "c", "d", "e", "f"}) {
    EXPECT_EQ(Git("show " + branch + ":" + f + ".txt"), std::string("x\n") + f + " done");
  }
}

struct KillPoint {
  const char* failpoint;       // SWARM_FAILPOINT
  bool landing_without_event;  // the ref moved and its event was never written
  bool test_passed_unrecorded; // a test passed and the ref did not move: the resume must not rerun it
};

class CoordinatorKillTest : public CrashTest, public ::testing::WithParamInterface<KillPoint> {};

TEST_P(CoordinatorKillTest, ResumeFinishesWithTheUninterruptedTreeAndNothingTwice) {
  const KillPoint& point = GetParam();
  CliResult killed = RunSwarm(RunArgs(4, {"--heartbeat-interval", "1", "--lease-timeout", "3"}),
                              {std::string("SWARM_FAILPOINT=") + point.failpoint});
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << "the failpoint was not reached\n" << killed.out << killed.err;
  std::string run_id = OnlyRunId();
  std::string integration = state() + "/runs/" + run_id + "/integration.git";
  // Hosts that lose their coordinator exit by themselves, and their sandboxes with them.
  auto hosts_alive = [&] {
    for (const auto& e : OnlyRunEvents(state())) {
      if (e.has_agent_registered() && PidLedger::StartTime(static_cast<int>(e.agent_registered().pid()))) return true;
    }
    return false;
  };
  for (int i = 0; i < 100 && (!AgentProcesses().empty() || hosts_alive()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(AgentProcesses().empty()) << "agents outlived their coordinator by 5 s";
  EXPECT_FALSE(hosts_alive()) << "a host outlived its coordinator by 5 s";

  // The state at the kill: at least one patch landed, at least one lease held.
  std::vector<v1::Event> before = OnlyRunEvents(state());
  std::set<std::string> open_leases, landed_events;
  for (const auto& e : before) {
    if (e.has_subtask_leased()) {
      open_leases.insert(absl::StrCat(e.subtask_leased().subtask_id(), "#", e.subtask_leased().attempt()));
    }
    if (e.has_attempt_finished()) {
      open_leases.erase(absl::StrCat(e.attempt_finished().subtask_id(), "#", e.attempt_finished().attempt()));
    }
    if (e.has_landed()) landed_events.insert(e.landed().commit());
  }
  std::string log;
  for (const auto& e : before) log += EventToJson(e) + "\n";
  EXPECT_TRUE(open_leases.count("c#1") && open_leases.count("d#1")) << "c and d hold their leases:\n" << log;
  int on_ref = std::stoi(Trim(Sh("git --git-dir=" + integration + " rev-list --count " + base_ +
                                 "..refs/heads/integration")));
  EXPECT_GE(on_ref, 1) << "a patch had landed";
  // The ref may be ahead of the log (a compare-and-swap can land several stacked requests, whose
  // events are written one by one), never behind it.
  int unrecorded = on_ref - static_cast<int>(landed_events.size());
  EXPECT_GE(unrecorded, point.landing_without_event ? 1 : 0);

  // The trees whose tests passed before the kill, from the run's test cache (written before a ref
  // moves, so it knows even the candidate whose landing the kill cut short).
  std::set<std::string> passed_before;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(state() + "/runs/" + run_id + "/test-cache", ec)) {
    std::string key = ReadFile(f.path());
    passed_before.insert(key.substr(5, key.find('\n') - 5));  // "tree SHA\n..."
  }
  EXPECT_FALSE(passed_before.empty());

  // Resume with the gate open: c and d's new attempts go through.
  WriteFile(gate() + "/open", "");
  CliResult resumed = RunSwarm({"resume", run_id, "--state-dir", state()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;

  // The uninterrupted run's tree, each subtask landed exactly once.
  std::string branch = "swarm/" + run_id;
  EXPECT_EQ(Landings(branch), (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}}));
  EXPECT_EQ(Git("rev-list --count " + base_ + ".." + branch), "5");
  for (const char* f : {"a", "b", "c", "d", "e", "f"}) {
    EXPECT_EQ(Git("show " + branch + ":" + f + ".txt"), std::string("x\n") + f + " done") << f;
  }
  // The store agrees with the ref, and says what the resume did.
  std::vector<v1::Event> after = OnlyRunEvents(state());
  int resumes = 0, landed = 0, cached = 0;
  for (const auto& e : after) {
    if (resumes > 0 && e.has_test_run() && e.test_run().result() == "passed before (cached)" &&
        e.test_run().stage() == "queue") {
      ++cached;
    }
    if (resumes > 0 && e.has_test_run() && e.test_run().result() != "passed before (cached)") {
      EXPECT_FALSE(passed_before.count(e.test_run().tree())) << "a tree that passed before the crash was tested again";
    }
    if (e.has_run_resumed()) {
      ++resumes;
      EXPECT_EQ(static_cast<int>(e.run_resumed().reconciled_landings()), unrecorded);
    }
    if (e.has_landed()) landed += e.landed().subtask_ids_size();
  }
  EXPECT_EQ(resumes, 1);
  if (point.test_passed_unrecorded) {
    EXPECT_GE(cached, 1) << "the candidate tested before the crash was tested again";
  }
  EXPECT_EQ(landed, 6) << "one Landed record per subtask";
  ASSERT_FALSE(after.empty());
  ASSERT_TRUE(after.back().has_run_finished());
  EXPECT_EQ(after.back().run_finished().state(), "completed");
  // Nothing of the old coordinator survives; nothing is left behind.
  EXPECT_TRUE(AgentProcesses().empty()) << "an agent of the dead coordinator survived";
  for (const auto& e : before) {
    if (e.has_agent_registered()) {
      EXPECT_FALSE(PidLedger::StartTime(static_cast<int>(e.agent_registered().pid())).has_value())
          << "host " << e.agent_registered().host_id() << " survived";
    }
  }
  EXPECT_FALSE(fs::exists("/dev/shm/swarm-" + run_id));
  EXPECT_FALSE(fs::exists(state() + "/runs/" + run_id + "/work"));
  EXPECT_TRUE(fs::is_empty(state() + "/runs/" + run_id + "/pids"));
}

INSTANTIATE_TEST_SUITE_P(
    KillPoints, CoordinatorKillTest,
    ::testing::Values(KillPoint{"leased@e", false, false},      // while leases are held (e's, after a landed)
                      KillPoint{"tested:2", false, true},       // a test passed, the ref has not moved
                      KillPoint{"ref_moved:2", true, false},    // the ref moved, the event is not written
                      KillPoint{"group_test:1", false, false},  // during the group's test
                      KillPoint{"landed:2", false, false},      // right after a landing is recorded
                      KillPoint{"idle:1", false, false}),       // idle between landings
    [](const ::testing::TestParamInfo<KillPoint>& info) {
      std::string name = info.param.failpoint;
      return name.substr(0, name.find_first_of(":@"));
    });

TEST_F(CrashTest, HostKilledWhileHoldingLeasesItsSubtasksLandOnceElsewhere) {
  // Two hosts of two slots: a and b land at once; c and d wait for the gate, on whichever hosts.
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
    {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]},
    {"id": "c", "title": "C", "instructions": "", "files": ["c.txt"]},
    {"id": "d", "title": "D", "instructions": "", "files": ["d.txt"]}]})");
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm"};
  for (const auto& a : RunArgs(4, {"--agent-hosts", "2", "--heartbeat-interval", "1", "--lease-timeout", "3"})) {
    spec.argv.push_back(a);
  }
  spec.timeout = std::chrono::seconds(120);
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });
  // At a known state: a landed, c's lease is held. Kill c's host.
  ASSERT_TRUE(WaitForEvent(state(), [](const v1::Event& e) { return e.has_landed(); }).has_value());
  int host_pid = HostPidHoldingLease(state(), "c");
  ASSERT_GT(host_pid, 0);
  ASSERT_EQ(kill(host_pid, SIGKILL), 0);
  // Its leases go to the other host; the gate opens; everything lands exactly once.
  ASSERT_TRUE(WaitForEvent(state(), [&](const v1::Event& e) {
    return e.has_attempt_finished() && e.attempt_finished().subtask_id() == "c" &&
           e.attempt_finished().error().find("went away") != std::string::npos;
  }).has_value());
  OpenGate();
  runner.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->out << result->err;
  std::string branch = "swarm/" + OnlyRunId();
  EXPECT_EQ(Landings(branch), (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}));
  for (const char* f : {"a", "b", "c", "d"}) {
    EXPECT_EQ(Git("show " + branch + ":" + f + ".txt"), std::string("x\n") + f + " done") << f;
  }
  EXPECT_TRUE(AgentProcesses().empty()) << "an agent of the killed host survived";
}

TEST_F(CrashTest, CoordinatorAndHostsKilledTogetherResumeKillsTheOrphanedAgents) {
  // An agent command dies with its host (the parent-death signal), but not what it started: here
  // without the sandbox, whose pid 1 would kill the rest, a job it left in the background (c and d wait
  // in a subshell) outlives a host killed by SIGKILL, as when a CI runner kills everything at a
  // time-out. The ledger finds it by its cgroup.
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm"};
  for (const auto& a : RunArgs(4, {"--no-sandbox"}, /*wait_in_subshell=*/true)) spec.argv.push_back(a);
  spec.timeout = std::chrono::seconds(120);
  std::atomic<int> coordinator{0};
  spec.on_start = [&](int pid) { coordinator = pid; };
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });
  ASSERT_TRUE(WaitForEvent(state(), [](const v1::Event& e) { return e.has_landed(); }).has_value());
  for (const char* id : {"c", "d"}) {
    ASSERT_TRUE(WaitForEvent(state(), [id](const v1::Event& e) {
      return e.has_subtask_leased() && e.subtask_leased().subtask_id() == id;
    }).has_value());
  }
  for (int i = 0; i < 100 && AgentProcesses().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(AgentProcesses().size(), 2u) << "c and d are running";
  // Freeze the coordinator (so it cannot clean up), kill its hosts, then it.
  ASSERT_EQ(kill(coordinator, SIGSTOP), 0);
  std::vector<int> hosts;
  for (const auto& e : OnlyRunEvents(state())) {
    if (e.has_agent_registered()) hosts.push_back(static_cast<int>(e.agent_registered().pid()));
  }
  for (int host : hosts) kill(host, SIGKILL);
  kill(coordinator, SIGKILL);
  runner.join();
  // The hosts are gone once init has reaped them (their parent is dead).
  auto any_host = [&] {
    return std::any_of(hosts.begin(), hosts.end(), [](int pid) { return PidLedger::StartTime(pid).has_value(); });
  };
  for (int i = 0; i < 200 && any_host(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_FALSE(any_host()) << "the killed hosts are still there after 5 s";
  ASSERT_FALSE(AgentProcesses().empty()) << "the orphaned agents are there to be found";

  WriteFile(gate() + "/open", "");  // new attempts pass; the orphans stay blocked on their FIFOs
  std::string run_id = OnlyRunId();
  CliResult resumed = RunSwarm({"resume", run_id, "--state-dir", state()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  int killed = -1;
  for (const auto& e : OnlyRunEvents(state())) {
    if (e.has_run_resumed()) killed = static_cast<int>(e.run_resumed().processes_killed());
  }
  EXPECT_GE(killed, 2) << "the resume killed the orphaned agents of c and d";
  EXPECT_TRUE(AgentProcesses().empty());
  EXPECT_EQ(Landings("swarm/" + run_id).size(), 6u);
}

TEST_F(CrashTest, AResultBranchThatCannotBeCreatedIsPublishedByResumeAndKeptByGc) {
  WriteFile(gate() + "/open", "");
  Git("branch swarm");  // refs/heads/swarm blocks refs/heads/swarm/<run-id>
  CliResult r = RunSwarm(RunArgs(4));
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("publishes it"), std::string::npos) << r.out;
  std::string run_id = OnlyRunId();
  CliResult gc = RunSwarm({"gc", "--older-than", "0", "--state-dir", state()});
  EXPECT_NE(gc.out.find("keeping " + run_id), std::string::npos) << gc.out;
  EXPECT_TRUE(fs::exists(state() + "/runs/" + run_id + "/integration.git"));
  Git("branch -D swarm");
  CliResult resumed = RunSwarm({"resume", run_id, "--state-dir", state()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Landings("swarm/" + run_id).size(), 6u);
}

TEST_F(CrashTest, CancelOfARunWhoseCoordinatorDiedMarksItCancelledAndResumeFinishesIt) {
  CliResult killed = RunSwarm(RunArgs(4), {"SWARM_FAILPOINT=landed:1"});
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out << killed.err;
  std::string run_id = OnlyRunId();
  std::string runs = RunSwarm({"runs", "--state-dir", state()}).out;
  EXPECT_NE(runs.find("interrupted"), std::string::npos) << "a dead coordinator's run is not shown running: " << runs;
  CliResult rm_unfinished = RunSwarm({"rm", run_id, "--state-dir", state()});
  EXPECT_EQ(rm_unfinished.exit_code, 2);
  EXPECT_NE(rm_unfinished.err.find("has not finished"), std::string::npos) << rm_unfinished.err;
  CliResult cancel = RunSwarm({"cancel", run_id, "--state-dir", state()});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  EXPECT_NE(cancel.out.find("marked cancelled"), std::string::npos) << cancel.out;
  // What landed is published, so nothing depends on the private repository any more.
  // (One compare-and-swap may land a few stacked requests at once; the ref is the authority.)
  EXPECT_GE(Landings("swarm/" + run_id).size(), 1u) << "the landing before the kill is on the branch";
  std::vector<v1::Event> events = OnlyRunEvents(state());
  ASSERT_TRUE(events.back().has_run_finished());
  EXPECT_EQ(events.back().run_finished().state(), "cancelled");
  EXPECT_EQ(events.back().run_finished().exit_code(), 5);
  EXPECT_TRUE(AgentProcesses().empty());
  // Cancelling again, or resuming a finished run, is refused with a reason.
  CliResult again = RunSwarm({"cancel", run_id, "--state-dir", state()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already finished"), std::string::npos) << again.err;
  // A cancelled run can still be finished.
  WriteFile(gate() + "/open", "");
  CliResult resumed = RunSwarm({"resume", run_id, "--state-dir", state()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Landings("swarm/" + run_id).size(), 6u);
  CliResult finished = RunSwarm({"resume", run_id, "--state-dir", state()});
  EXPECT_EQ(finished.exit_code, 2);
  EXPECT_NE(finished.err.find("nothing to resume"), std::string::npos) << finished.err;
  // gc keeps a run younger than a day; --dry-run says what would go; then it keeps the record and the
  // branch, drops the private repository and logs, and says so.
  CliResult young = RunSwarm({"gc", "--state-dir", state()});
  ASSERT_EQ(young.exit_code, 0) << young.err;
  EXPECT_NE(young.out.find("cleaned 0 finished runs"), std::string::npos) << young.out;
  EXPECT_NE(young.out.find("1 run finished within the last 1d kept"), std::string::npos) << young.out;
  CliResult dry = RunSwarm({"gc", "--older-than", "0", "--dry-run", "--state-dir", state()});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would remove " + run_id + "'s logs, integration.git"), std::string::npos) << dry.out;
  EXPECT_TRUE(fs::exists(state() + "/runs/" + run_id + "/integration.git")) << "a dry run removes nothing";
  CliResult bad_age = RunSwarm({"gc", "--older-than", "1 day", "--state-dir", state()});
  EXPECT_EQ(bad_age.exit_code, 2);
  EXPECT_NE(bad_age.err.find("--older-than takes a duration such as 90s"), std::string::npos) << bad_age.err;
  CliResult gc = RunSwarm({"gc", "--older-than", "0", "--state-dir", state()});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed " + run_id + "'s logs, integration.git"), std::string::npos) << gc.out;
  EXPECT_FALSE(fs::exists(state() + "/runs/" + run_id + "/integration.git"));
  CliResult logs = RunSwarm({"logs", run_id, "--state-dir", state()});
  EXPECT_EQ(logs.exit_code, 2);
  EXPECT_NE(logs.err.find("the logs of run " + run_id + " were removed (swarm gc)"), std::string::npos) << logs.err;
  EXPECT_TRUE(fs::exists(state() + "/runs/" + run_id + "/report.json"));
  EXPECT_EQ(RunSwarm({"show", run_id, "--state-dir", state()}).exit_code, 0);
  EXPECT_EQ(Git("rev-parse --verify -q swarm/" + run_id).size(), 40u);
  // rm drops the record too; the branch stays.
  CliResult rm = RunSwarm({"rm", run_id, "--state-dir", state()});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(fs::exists(state() + "/runs/" + run_id));
  EXPECT_EQ(RunSwarm({"show", run_id, "--state-dir", state()}).exit_code, 2);
  EXPECT_EQ(Git("rev-parse --verify -q swarm/" + run_id).size(), 40u);
}

TEST_F(CrashTest, CancelOfALiveRunStopsItsAgentsKeepsWhatLandedAndTheRunExits5) {
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm"};
  for (const auto& a : RunArgs(4, {"--heartbeat-interval", "1", "--lease-timeout", "3"})) spec.argv.push_back(a);
  spec.timeout = std::chrono::seconds(120);
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });
  // At a known state: a landed (another may land first), c and d wait at the gate, holding their leases.
  ASSERT_TRUE(WaitForEvent(state(), [](const v1::Event& e) {
                return e.has_landed() &&
                       std::count(e.landed().subtask_ids().begin(), e.landed().subtask_ids().end(), "a") > 0;
              }).has_value());
  ASSERT_TRUE(WaitForEvent(state(), [](const v1::Event& e) {
    return e.has_subtask_leased() && e.subtask_leased().subtask_id() == "d";
  }).has_value());
  auto started = std::chrono::steady_clock::now();
  CliResult cancel = RunSwarm({"cancel", OnlyRunId(), "--state-dir", state()});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 5) << result->out << result->err;
  std::vector<v1::Event> events = OnlyRunEvents(state());
  ASSERT_TRUE(events.back().has_run_finished());
  EXPECT_EQ(events.back().run_finished().state(), "cancelled");
  EXPECT_GE(Landings("swarm/" + OnlyRunId()).count("a"), 1u) << "what landed stays on the branch";
  EXPECT_TRUE(AgentProcesses().empty()) << "an agent outlived the cancel";
}

}  // namespace
}  // namespace swarm::testing
