// The safety net under refactors of the run's path: the coordinator is SIGKILLed at random moments
// (not only at the named failpoints of crash_test), agent hosts are SIGKILLed at random, and every
// run is resumed until it finishes. Each run has dependencies, an atomic group, two subtasks whose
// patches conflict (the second is rebased) and one whose first patch fails the tests (a debugging
// sub-agent, the fix-up, repairs it). Afterwards every run must have the tree an uninterrupted
// run lands, each subtask landed exactly once, and nothing left: no process, workspace (nor the places
// its mounts were made), socket directory or cgroup of its coordinators and hosts.
//
// The moments come from a seeded generator. The seed is printed; SWARM_KILL_SEED=N replays it.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
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

// p and q both add their line to shared.txt (undeclared, so they may run at once): whichever lands
// second conflicts and is redone on the new head. The agent keeps shared.txt sorted, so the tree is
// the same whichever lands first. e and f are an atomic group after a; g needs the group. x's first
// patch breaks the tests; its fix-up, told what failed, lands the repair.
constexpr char kPlan[] = R"({"subtasks": [
  {"id": "x", "title": "X", "instructions": "", "files": ["x.txt"]},
  {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
  {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]},
  {"id": "p", "title": "P", "instructions": "", "files": ["p.txt"]},
  {"id": "q", "title": "Q", "instructions": "", "files": ["q.txt"]},
  {"id": "e", "title": "E", "instructions": "", "files": ["e.txt"], "group": "ef", "depends_on": ["a"]},
  {"id": "f", "title": "F", "instructions": "", "files": ["f.txt"], "group": "ef", "depends_on": ["a"]},
  {"id": "g", "title": "G", "instructions": "", "files": ["g.txt"], "depends_on": ["e", "f"]}]})";
const std::set<std::string> kSubtasks = {"a", "b", "p", "q", "e", "f", "g", "x"};

std::uint64_t SeedFromEnvironment() {
  if (const char* s = getenv("SWARM_KILL_SEED"); s != nullptr && *s != '\0') return std::stoull(s);
  return std::random_device{}();
}

class RandomKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    for (const char* f : {"a", "b", "p", "q", "e", "f", "g", "x"}) WriteFile(repo() + "/" + f + ".txt", "x\n");
    WriteFile(repo() + "/shared.txt", "base\n");
    CommitAll(repo(), "base");
    base_ = Trim(Sh("git -C " + repo() + " rev-parse HEAD"));
    WriteFile(dir_ / "plan.json", kPlan);
    // Fix-ups come with a model; the agents here are commands and never call it.
    WriteFile(dir_ / "script.json", R"({"conversations": {}})");
  }

  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }

  std::vector<std::string> RunArgs() const {
    std::string agent =
        "sleep 0.$(( $(printf %d \"'$SWARM_SUBTASK_ID\") % 4 )); "
        "case $SWARM_SUBTASK_ID in x) if [ -n \"${SWARM_FAILURE_LOG:-}\" ]; then echo fixed >> x.txt; "
        "else echo broken >> x.txt; fi;; *) echo \"$SWARM_SUBTASK_ID done\" >> $SWARM_SUBTASK_ID.txt;; esac; "
        "case $SWARM_SUBTASK_ID in p|q) echo $SWARM_SUBTASK_ID >> shared.txt; sort -o shared.txt shared.txt;; esac";
    return {"run",           "--repo",        repo(),      "--state-dir", state(),         "--plan", dir_ / "plan.json",
            "--agents",      "4",             "--agent-hosts", "2",        "--agent-cmd", agent,
            "--test-cmd",    "sleep 0.05; test -s a.txt && ! grep -q broken x.txt",
            "--model",       "scripted:" + dir_ / "script.json", "--max-fixups", "1",
            "--max-rebases", "5",             "--max-attempts", "20",             "--heartbeat-interval", "1", "--lease-timeout", "20"};
  }

  // Runs `args` and, if `kill_after` is set, SIGKILLs the coordinator that long after it started
  // (and, if `host_kill_after` is set, one agent host of the run at that moment). The exit code.
  int RunAndMaybeKill(const std::vector<std::string>& args, std::optional<std::chrono::milliseconds> kill_after,
                      std::optional<std::chrono::milliseconds> host_kill_after, std::uint64_t host_choice,
                      std::string* output) {
    ProcessSpec spec;
    spec.argv = {BuildDir() + "/bin/swarm"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.timeout = std::chrono::seconds(180);
    std::atomic<int> pid{0};
    spec.on_start = [&](int p) {
      pid = p;
      coordinator_pids_.insert(p);
    };
    absl::StatusOr<ProcessResult> result;
    std::thread runner([&] { result = RunProcess(spec); });
    auto started = std::chrono::steady_clock::now();
    auto until = [&](std::chrono::milliseconds d) {
      // The moment is the point of the test: it is chosen, not waited for.
      std::this_thread::sleep_until(started + d);
    };
    if (host_kill_after) {
      until(*host_kill_after);
      std::vector<int> hosts = LiveHostPids();
      if (!hosts.empty()) kill(hosts[host_choice % hosts.size()], SIGKILL);
    }
    if (kill_after) {
      until(*kill_after);
      if (int p = pid.load(); p > 0) kill(p, SIGKILL);
    }
    runner.join();
    if (!result.ok()) {
      *output = std::string(result.status().message());
      return -1;
    }
    *output = result->out + result->err;
    return result->term_signal != 0 ? 128 + result->term_signal : result->exit_code;
  }

  // The run's events as stored so far; none before its start was recorded.
  std::vector<v1::Event> Events() {
    if (!fs::exists(state() + "/swarm.db")) return {};
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(state() + "/swarm.db");
    if (!store.ok()) return {};
    absl::StatusOr<std::vector<RunRow>> runs = (*store)->Runs();
    if (!runs.ok() || runs->size() != 1) return {};
    absl::StatusOr<std::vector<v1::Event>> events = (*store)->Events(runs->front().id);
    return events.ok() ? *events : std::vector<v1::Event>{};
  }

  // Agent hosts of the run that are alive now (from their registrations).
  std::vector<int> LiveHostPids() {
    std::vector<int> pids;
    for (const auto& e : Events()) {
      if (!e.has_agent_registered()) continue;
      int p = static_cast<int>(e.agent_registered().pid());
      host_pids_.insert(p);
      if (PidLedger::StartTime(p)) pids.push_back(p);
    }
    return pids;
  }

  // The run, once its start is recorded (a coordinator killed before that left no run to resume).
  std::string RunId() {
    std::vector<v1::Event> events = Events();
    return events.empty() ? "" : events.front().run_id();
  }

  bool Finished() {
    std::vector<v1::Event> events = Events();
    return !events.empty() && events.back().has_run_finished() && events.back().run_finished().state() == "completed";
  }

  std::map<std::string, int> Landings(const std::string& branch) { return testing::Landings(repo(), base_, branch); }

  // What an uninterrupted run lands: each file with its subtask's line, shared.txt with p and q, x.txt
  // with the fix-up's line alone.
  void ExpectTheUninterruptedTree(const std::string& branch) {
    for (const char* f : {"a", "b", "p", "q", "e", "f", "g"}) {
      EXPECT_EQ(Trim(Sh("git -C " + repo() + " show " + branch + ":" + f + ".txt")), std::string("x\n") + f + " done")
          << f;
    }
    EXPECT_EQ(Trim(Sh("git -C " + repo() + " show " + branch + ":shared.txt")), "base\np\nq");
    EXPECT_EQ(Trim(Sh("git -C " + repo() + " show " + branch + ":x.txt")), "x\nfixed") << "x's repair, by its fix-up";
  }

  // Nothing of the run's coordinators and hosts is left.
  void ExpectNothingLeft(const std::string& run_id) {
    for (int pid : coordinator_pids_) EXPECT_FALSE(PidLedger::StartTime(pid).has_value()) << "coordinator " << pid;
    LiveHostPids();
    for (int pid : host_pids_) {
      for (int i = 0; i < 100 && PidLedger::StartTime(pid).has_value(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a host leaves on its own
      }
      EXPECT_FALSE(PidLedger::StartTime(pid).has_value()) << "host " << pid;
    }
    EXPECT_FALSE(fs::exists("/dev/shm/swarm-" + run_id));
    EXPECT_FALSE(fs::exists(state() + "/runs/" + run_id + "/work"));
    EXPECT_TRUE(fs::is_empty(state() + "/runs/" + run_id + "/pids"));
    std::string runtime = ReadFile(state() + "/runs/" + run_id + "/runtime-dir");
    if (!runtime.empty()) {
      EXPECT_FALSE(fs::exists(Trim(runtime))) << "socket directory left";
    }
    // Workspaces and test trees are mounted in the coordinator's and hosts' own mount namespaces, which
    // go with them; what could be left is their places, checked above (the work and /dev/shm trees).
    // Cgroups are named <pid>-<salt>-<n> by the process that made them.
    std::set<int> ours = coordinator_pids_;
    ours.insert(host_pids_.begin(), host_pids_.end());
    for (const char* root : {"/sys/fs/cgroup/memory/swarm", "/sys/fs/cgroup/pids/swarm", "/sys/fs/cgroup/swarm"}) {
      std::error_code ec;
      for (const auto& d : fs::directory_iterator(root, ec)) {
        int owner = atoi(d.path().filename().c_str());
        EXPECT_FALSE(ours.count(owner)) << "cgroup left: " << d.path();
      }
    }
  }

  // A run that failed half-way leaves no workspace in RAM and no socket directory.
  void TearDown() override {
    for (const auto& e : Events()) {
      if (!e.has_run_started()) continue;
      std::error_code ec;
      fs::remove_all("/dev/shm/swarm-" + e.run_id(), ec);
      std::string runtime = Trim(ReadFile(state() + "/runs/" + e.run_id() + "/runtime-dir"));
      if (fs::path(runtime).filename().string().rfind("swarm-", 0) == 0) fs::remove_all(runtime, ec);
    }
  }

  TempDir dir_;
  std::string base_;
  std::mt19937_64 rng_;
  std::set<int> coordinator_pids_, host_pids_;
};

TEST_F(RandomKillTest, KilledAtRandomAndResumedEveryRunLandsTheUninterruptedTreeOnce) {
  const std::uint64_t seed = SeedFromEnvironment();
  rng_.seed(seed);
  printf("random_kill_test: seed %llu (replay with SWARM_KILL_SEED=%llu)\n", static_cast<unsigned long long>(seed),
         static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE(absl::StrCat("SWARM_KILL_SEED=", seed));

  // Runs until at least 20 coordinators died at random moments (and at least 3 runs finished).
  constexpr int kMinKills = 20, kMinRuns = 3, kMaxRuns = 15;
  constexpr int kKillsPerRun = 8;  // at most; a session that finishes first ends the run's kills
  int kills = 0, host_kills = 0, runs = 0;
  for (int run = 0; run < kMaxRuns && (kills < kMinKills || run < kMinRuns); ++run, ++runs) {
    fs::remove_all(state());
    Sh("git -C " + repo() + " branch -D $(git -C " + repo() + " branch --list 'swarm/*' --format='%(refname:short)') "
       "2>/dev/null || true");
    coordinator_pids_.clear();
    host_pids_.clear();
    std::string log;
    for (int session = 0; !Finished(); ++session) {
      ASSERT_LT(session, kKillsPerRun + 3) << "the run never finished\n" << log;
      // Every draw is made whatever happens next, so that a seed gives the same moments again.
      const std::uint64_t draw_kill = rng_(), draw_host = rng_(), draw_host_at = rng_(), draw_which = rng_();
      const bool kill_this = session < kKillsPerRun;
      std::optional<std::chrono::milliseconds> kill_after, host_kill_after;
      if (kill_this) kill_after = std::chrono::milliseconds(50 + draw_kill % 1000);
      if (kill_this && draw_host % 3 == 0) {
        host_kill_after = std::chrono::milliseconds(draw_host_at % static_cast<std::uint64_t>(kill_after->count()));
      }
      if (RunId().empty()) fs::remove_all(state());  // killed before the run was recorded: start it again
      std::vector<std::string> args = RunId().empty() ? RunArgs()
                                                      : std::vector<std::string>{"resume", RunId(), "--state-dir", state()};
      std::string output;
      int code = RunAndMaybeKill(args, kill_after, host_kill_after, draw_which, &output);
      absl::StrAppend(&log, "session ", session, " (", args[0], kill_after ? absl::StrCat(", kill at ", kill_after->count(), " ms") : "",
                      host_kill_after ? absl::StrCat(", a host at ", host_kill_after->count(), " ms") : "", "): exit ",
                      code, "\n", output, "\n");
      if (code == 128 + SIGKILL) ++kills;
      if (host_kill_after) ++host_kills;
      // Killed, or done; a resume of a finished run says there is nothing to resume (exit 2).
      ASSERT_TRUE(code == 0 || code == 128 + SIGKILL || (code == 2 && Finished())) << log;
    }
    const std::string run_id = RunId();
    const std::string branch = "swarm/" + run_id;
    std::map<std::string, int> once;
    for (const auto& id : kSubtasks) once[id] = 1;
    EXPECT_EQ(Landings(branch), once)
        << Sh("git -C " + repo() + " log --first-parent --format='%h %s%n%b' " + base_ + ".." + branch) << log;
    ExpectTheUninterruptedTree(branch);
    ExpectNothingLeft(run_id);
    if (HasFailure()) return;
  }
  printf("random_kill_test: %d coordinator kills and %d host kills across %d runs\n", kills, host_kills, runs);
  RecordProperty("coordinator_kills", kills);
  EXPECT_GE(kills, kMinKills) << "the runs finished before they could be killed often enough";
}

}  // namespace
}  // namespace swarm::testing
