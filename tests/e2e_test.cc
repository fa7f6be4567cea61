// End-to-end: the real swarm binary, real agent host processes over gRPC, real git, real bubblewrap.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orchestrator/store/store.h"
#include "sandbox/process.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

class E2eTest : public ::testing::Test {
 protected:
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  std::string Git(const std::string& args) { return Trim(Sh("git -C " + repo() + " " + args)); }
  std::string Branch() {
    return Trim(Sh("git -C " + repo() + " for-each-ref --format='%(refname:short)' refs/heads/swarm/"));
  }
  // The tree a serial run of `codemod` over `files` (at HEAD) produces.
  std::string SerialTree(const std::string& codemod, const std::string& files) {
    std::string copy = dir_ / "serial";
    Sh("git clone -q " + repo() + " " + copy);
    Sh("cd " + copy + " && SWARM_FILES='" + files + "' sh -c '" + codemod + "'");
    Sh("cd " + copy + " && git add -A");
    return Trim(Sh("git -C " + copy + " write-tree"));
  }
  // Makes the user's repository carry hooks (post-checkout; reference-transaction, which a fetch
  // into it would fire) and a clean filter, none of which swarm may ever run.
  void InstallHook() {
    for (const char* hook : {"post-checkout", "reference-transaction", "post-index-change"}) {
      WriteFile(repo() + "/.git/hooks/" + hook, "#!/bin/sh\ntouch " + (dir_ / "hook-ran") + "\n");
      Sh("chmod +x " + repo() + "/.git/hooks/" + hook);
    }
    Sh("git -C " + repo() + " config filter.marker.clean 'touch " + (dir_ / "hook-ran") + "; cat'");
    WriteFile(repo() + "/.git/info/attributes", "* filter=marker\n");
  }
  // The stored events of --json's lines (`live` false), or the live ones (an agent's activity).
  std::vector<nlohmann::json> Events(const std::string& out, bool live = false) {
    std::vector<nlohmann::json> events;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
      if (j.value("live", false) == live) events.push_back(j);
    }
    return events;
  }

  TempDir dir_;
};

// A C program whose function old_name is defined in one file and called from three others, so a
// rename applied to any one file alone breaks the build.
void WriteRenameFixture(const std::string& repo) {
  WriteFile(repo + "/a_def.c", "int old_name(int x) { return x + 1; }\n");
  WriteFile(repo + "/b_use.c", "int old_name(int x);\nint use_b(void) { return old_name(1); }\n");
  WriteFile(repo + "/c_use.c", "int old_name(int x);\nint use_c(void) { return old_name(2); }\n");
  WriteFile(repo + "/d_main.c",
            "int old_name(int x);\nint use_b(void);\nint use_c(void);\nint use_e(void);\nint use_f(void);\n"
            "int main(void) { return old_name(0) + use_b() + use_c() + use_e() + use_f() == 15 ? 0 : 1; }\n");
  WriteFile(repo + "/e_use.c", "int old_name(int x);\nint use_e(void) { return old_name(3); }\n");
  WriteFile(repo + "/f_use.c", "int old_name(int x);\nint use_f(void) { return old_name(4); }\n");
}
const char kRenameTest[] = "cc -Werror -o /tmp/prog *.c && /tmp/prog";
const char kRename[] = "sed -i s/old_name/new_name/g $SWARM_FILES";

// --build-cache: one directory every test run of the run shares, where ccache keeps what it compiled,
// so only the first test run compiles lib.c; the others (checks and candidates, each in a tree of its
// own elsewhere) find it there.
TEST_F(E2eTest, ABuildCacheIsSharedByEveryTestRunSoOnlyTheFirstCompiles) {
  InitRepo(repo());
  for (int i = 1; i <= 4; ++i) WriteFile(repo() + "/f" + std::to_string(i) + ".txt", "file\n");
  WriteFile(repo() + "/lib.c", "int lib(int x) { return x * 2; }\n");
  CommitAll(repo(), "base");
  const std::string cache = dir_ / "cache";  // made by the run
  const std::string test =
      "ccache cc -g -c lib.c -o /tmp/lib.o && echo \"$SWARM_BUILD_CACHE\" >> \"$SWARM_BUILD_CACHE/runs\"";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "4",
                          "--independent", "--agents", "2", "--agent-cmd", "echo more >> $SWARM_FILES", "--test-cmd",
                          test, "--build-cache", cache});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("build cache " + cache), std::string::npos) << r.out;
  for (const auto& [id, outcome] : Outcomes(OnlyReport(state()))) EXPECT_EQ(outcome, "landed") << id;
  // The base's run, a check per patch and the candidates: every one wrote to the same directory.
  const std::string runs = ReadFile(cache + "/runs");
  const int test_runs = static_cast<int>(std::count(runs.begin(), runs.end(), '\n'));
  EXPECT_GE(test_runs, 5) << runs;
  EXPECT_EQ(runs.find_first_not_of(cache + "\n"), std::string::npos) << runs;
  // ccache's own count: one compilation, every later run a hit.
  const std::string stats = "\n" + Sh("CCACHE_DIR=" + cache + "/ccache ccache --print-stats");
  auto count = [&](const std::string& name) {
    auto at = stats.find("\n" + name + "\t");
    return at == std::string::npos ? -1 : std::stoi(stats.substr(at + name.size() + 2));
  };
  EXPECT_EQ(count("cache_miss"), 1) << stats;
  EXPECT_EQ(count("direct_cache_hit") + count("preprocessed_cache_hit"), test_runs - 1) << stats;
}

TEST_F(E2eTest, TwoHostsLandEveryShardAndLeaveTheUserRepositoryUntouched) {
  InitRepo(repo());
  for (int i = 1; i <= 12; ++i) {
    WriteFile(repo() + "/dir" + std::to_string(i % 3) + "/f" + std::to_string(100 + i) + ".txt",
              "hello from file " + std::to_string(i) + "\n");
  }
  WriteFile(repo() + "/keep.md", "not matched\n");
  CommitAll(repo(), "base");
  InstallHook();
  // The user's own uncommitted work must survive and stay out of the run.
  WriteFile(repo() + "/keep.md", "uncommitted edit\n");
  WriteFile(repo() + "/untracked.txt", "untracked\n");
  std::string before = UserVisibleState(repo());
  std::string base = Git("rev-parse HEAD");
  std::string codemod = "for f in $SWARM_FILES; do tr a-z A-Z < $f > $f.tmp && mv $f.tmp $f; done; sleep 0.3";

  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "8",
                          "--independent", "--agents", "4", "--agent-hosts", "2", "--agent-cmd", codemod,
                          "--test-cmd", "test -f dir1/f101.txt", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("uncommitted changes"), std::string::npos) << r.err;

  // Two host processes registered, four slots between them.
  int hosts = 0, slots = 0;
  for (const auto& e : Events(r.out)) {
    EXPECT_EQ(e["schema"], 1);
    if (e.contains("agent_registered")) {
      ++hosts;
      slots += e["agent_registered"]["slots"].get<int>();
    }
  }
  EXPECT_EQ(hosts, 2);
  EXPECT_EQ(slots, 4);
  // What each attempt's agent was doing, as live lines: never stored, without a seq.
  // And what the merge stages were testing: each check and each queue round, started and ended.
  std::set<std::string> active;
  std::map<std::string, int> testing;  // "check started", "queue ended", ...
  for (const auto& e : Events(r.out, /*live=*/true)) {
    EXPECT_EQ(e["schema"], 1);
    if (e.contains("queue_testing")) {
      const auto& q = e["queue_testing"];
      EXPECT_FALSE(e.contains("seq")) << e.dump();
      EXPECT_FALSE(q["subtask_ids"].empty()) << e.dump();
      ++testing[q["stage"].get<std::string>() + (q.value("done", false) ? " ended" : " started")];
      continue;
    }
    ASSERT_TRUE(e.contains("agent_activity")) << e.dump();
    EXPECT_EQ(e["agent_activity"]["action"], "running the agent command");
    EXPECT_FALSE(e.contains("seq")) << e.dump();  // not in the log
    active.insert(e["agent_activity"]["subtask_id"].get<std::string>());
  }
  EXPECT_EQ(active.size(), 8u);
  EXPECT_GE(testing["check started"], 8) << "each shard is checked alone on its base";
  EXPECT_EQ(testing["check started"], testing["check ended"]);
  EXPECT_GE(testing["queue started"], 1);
  EXPECT_EQ(testing["queue started"], testing["queue ended"]);
  for (const v1::Event& e : OnlyRunEvents(state())) {
    EXPECT_FALSE(e.has_agent_activity() || e.has_queue_testing()) << e.DebugString();
  }

  auto outcomes = Outcomes(OnlyReport(state()));
  ASSERT_EQ(outcomes.size(), 8u);
  for (const auto& [id, outcome] : outcomes) EXPECT_EQ(outcome, "landed") << id;

  // The result equals the serial codemod's, on a new branch; nothing else moved.
  std::string branch = Branch();
  ASSERT_FALSE(branch.empty());
  std::string files = Trim(Sh("git -C " + repo() + " ls-files '*.txt'"));
  // The serial reference starts from the committed base, not the user's dirty tree.
  EXPECT_EQ(Git("rev-parse " + branch + "^{tree}"), SerialTree(codemod, files));
  EXPECT_EQ(Git("rev-list --count " + base + ".." + branch), "8");
  EXPECT_EQ(Git("log -1 --format=%an " + branch), "swarm");
  EXPECT_EQ(before, UserVisibleState(repo()) + "") << "the user's HEAD, index or work tree changed";
  EXPECT_FALSE(fs::exists(dir_ / "hook-ran")) << "a hook of the user's repository ran";
}

TEST_F(E2eTest, CrossFileRenameInSixShardsLandsAsOneGroup) {
  InitRepo(repo());
  WriteRenameFixture(repo());
  CommitAll(repo(), "base");
  InstallHook();
  std::string base = Git("rev-parse HEAD");
  // The fixture is what the issue describes: each shard alone breaks the build.
  for (const char* file : {"a_def.c", "b_use.c", "c_use.c", "d_main.c", "e_use.c", "f_use.c"}) {
    std::string copy = dir_ / (std::string("alone-") + file);
    Sh("cp -r " + repo() + " " + copy + " && cd " + copy + " && SWARM_FILES=" + file + " sh -c '" + kRename + "'");
    EXPECT_NE(ShStatus("cd " + copy + " && " + kRenameTest), 0) << file << " alone should break the build";
  }

  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "6",
                          "--agents", "6", "--agent-cmd", kRename, "--test-cmd", kRenameTest});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto outcomes = Outcomes(OnlyReport(state()));
  ASSERT_EQ(outcomes.size(), 6u);
  for (const auto& [id, outcome] : outcomes) EXPECT_EQ(outcome, "landed") << id;
  std::string branch = Branch();
  EXPECT_EQ(Git("rev-list --count " + base + ".." + branch), "1") << "a group lands as one commit";
  EXPECT_EQ(Git("rev-parse " + branch + "^{tree}"),
            SerialTree(kRename, "a_def.c b_use.c c_use.c d_main.c e_use.c f_use.c"));
  EXPECT_NE(ShStatus("git -C " + repo() + " grep -q old_name " + branch), 0);
  EXPECT_FALSE(fs::exists(dir_ / "hook-ran"));
}

TEST_F(E2eTest, SabotagedShardLandsNothingOfTheGroupAndShowsTheLog) {
  InitRepo(repo());
  WriteRenameFixture(repo());
  CommitAll(repo(), "base");
  std::string before = UserVisibleState(repo());
  // Random (the seed is printed, and SWARM_TEST_SEED replays it), and never the last to arrive: the
  // saboteur finishes first, the others a second later.
  const char* replay = getenv("SWARM_TEST_SEED");
  unsigned seed = replay != nullptr ? static_cast<unsigned>(atoi(replay)) : std::random_device{}();
  SCOPED_TRACE("SWARM_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  int sabotaged = 1 + static_cast<int>(rng() % 6);
  std::string saboteur = "shard-" + std::to_string(sabotaged);
  std::string agent = std::string(kRename) + "; if [ \"$SWARM_SUBTASK_ID\" = " + saboteur +
                      " ]; then echo 'this is not C;' >> $SWARM_FILES; else sleep 1; fi";

  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "6",
                          "--agents", "6", "--agent-cmd", agent, "--test-cmd", kRenameTest});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Branch(), "") << "nothing landed, so no branch";
  EXPECT_EQ(before, UserVisibleState(repo()));
  nlohmann::json report = OnlyReport(state());
  for (const auto& [id, outcome] : Outcomes(report)) EXPECT_EQ(outcome, "rejected_check") << id;
  // The summary points at the test log, and the log has the compiler's complaint.
  std::string log = report["run_dir"].get<std::string>() + "/" + report["subtasks"][0]["log"].get<std::string>();
  ASSERT_FALSE(report["subtasks"][0]["log"].get<std::string>().empty());
  EXPECT_NE(r.out.find(log), std::string::npos) << r.out;
  EXPECT_NE(ReadFile(log).find("error"), std::string::npos) << ReadFile(log);
  EXPECT_NE(report["subtasks"][0]["reason"].get<std::string>().find("group shards"), std::string::npos);
  // The compiler names the sabotaged file: the failure is attributed to that shard alone.
  for (const auto& s : report["subtasks"]) {
    std::string reason = s["reason"];
    auto at = reason.find("attributed to " + saboteur + " (");
    ASSERT_NE(at, std::string::npos) << reason;
    EXPECT_EQ(reason.find("; ", at), std::string::npos) << "only the saboteur is named: " << reason;
  }
}

TEST_F(E2eTest, APartialGroupWithOneBadMemberLandsTheOtherFive) {
  InitRepo(repo());
  std::string subtasks;
  for (int i = 1; i <= 6; ++i) {
    WriteFile(repo() + "/h" + std::to_string(i) + ".h", "#define H" + std::to_string(i) + " 1\n");
    absl::StrAppend(&subtasks, i > 1 ? "," : "", R"({"id": "h)", i, R"(", "title": "header )", i,
                    R"(", "instructions": "", "files": ["h)", i, R"(.h"], "group": "headers"})");
  }
  CommitAll(repo(), "base");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [)" + subtasks + R"(], "groups": {"headers": {"partial": true}}})");
  std::string agent = "if [ $SWARM_SUBTASK_ID = h4 ]; then echo BROKEN >> h4.h; else echo '// edited' >> $SWARM_FILES; fi";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents",
                          "3", "--agent-cmd", agent, "--test-cmd", "! grep -l BROKEN *.h"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto outcomes = Outcomes(OnlyReport(state()));
  for (const char* id : {"h1", "h2", "h3", "h5", "h6"}) EXPECT_EQ(outcomes[id], "landed") << id;
  EXPECT_EQ(outcomes["h4"], "rejected_check");
  EXPECT_EQ(Git("show " + Branch() + ":h6.h"), "#define H6 1\n// edited");
}

TEST_F(E2eTest, FailingSubtaskFailsWithItsLogDependentsAreSkippedTheRestLand) {
  InitRepo(repo());
  WriteFile(repo() + "/README", "base\n");
  CommitAll(repo(), "base");
  std::string base = Git("rev-parse HEAD");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
    {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]},
    {"id": "c", "title": "C", "instructions": "", "files": ["c.txt"]},
    {"id": "d", "title": "D", "instructions": "", "files": ["d.txt"]},
    {"id": "e", "title": "E", "instructions": "", "depends_on": ["b"]},
    {"id": "f", "title": "F", "instructions": "", "depends_on": ["e"]}]})");
  std::string agent =
      "if [ \"$SWARM_SUBTASK_ID\" = b ]; then echo 'b cannot be done' >&2; exit 3; fi; "
      "echo \"$SWARM_SUBTASK_ID attempt $SWARM_ATTEMPT\" > \"$SWARM_SUBTASK_ID.txt\"";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                          "--agents", "4", "--max-attempts", "2", "--agent-cmd", agent, "--test-cmd", "true"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json report = OnlyReport(state());
  auto outcomes = Outcomes(report);
  EXPECT_EQ(outcomes["a"], "landed");
  EXPECT_EQ(outcomes["c"], "landed");
  // How parallel it was: b's two failed attempts and every other attempt are in the agents' time.
  const nlohmann::json& timing = report["timing"];
  EXPECT_EQ(timing["agents"], 4) << timing.dump();
  EXPECT_GT(timing["parallel_efficiency"].get<double>(), 0) << timing.dump();
  EXPECT_LE(timing["parallel_efficiency"].get<double>(), 1) << timing.dump();
  EXPECT_EQ(timing["stages"]["agent"]["count"], 5) << "a, c, d and b twice: " << timing.dump();
  EXPECT_FALSE(timing["critical_path"].empty()) << timing.dump();
  EXPECT_NE(r.out.find("parallelism: 4 agents busy"), std::string::npos) << r.out;
  EXPECT_EQ(outcomes["d"], "landed");
  EXPECT_EQ(outcomes["b"], "failed_agent");
  EXPECT_EQ(outcomes["e"], "skipped_dependency");
  EXPECT_EQ(outcomes["f"], "skipped_dependency");
  for (const auto& s : report["subtasks"]) {
    if (s["id"] != "b") continue;
    EXPECT_EQ(s["attempts"], 2);
    std::string log = report["run_dir"].get<std::string>() + "/" + s["log"].get<std::string>();
    EXPECT_EQ(s["log"].get<std::string>().rfind("logs/", 0), 0u) << "relative to the run directory";
    EXPECT_NE(ReadFile(log).find("b cannot be done"), std::string::npos) << log;
    EXPECT_NE(r.out.find(log), std::string::npos) << "the summary shows the log path";
  }
  std::string branch = Branch();
  EXPECT_EQ(Git("rev-list --count " + base + ".." + branch), "3");
  EXPECT_EQ(Git("show " + branch + ":a.txt"), "a attempt 1");

  // The run can be inspected afterwards: listed, shown attempt by attempt, its logs printed.
  std::string run_id = report["run_id"];
  CliResult runs = RunSwarm({"runs", "--state-dir", state()});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_NE(runs.out.find(run_id + "  completed"), std::string::npos) << runs.out;
  EXPECT_NE(runs.out.find("3/6 done"), std::string::npos) << runs.out;
  CliResult show = RunSwarm({"show", run_id, "--state-dir", state()});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("b  failed"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("attempt 2 on host-1"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("e  skipped_dependency"), std::string::npos) << show.out;
  CliResult logs = RunSwarm({"logs", run_id, "b", "--state-dir", state()});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("b cannot be done"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find("a.1.agent.log"), std::string::npos) << "only b's logs";
  EXPECT_EQ(RunSwarm({"show", "no-such-run", "--state-dir", state()}).exit_code, 2);
}

TEST_F(E2eTest, PatchWhoseBaseIsTwoLandingsBehindTheHeadLands) {
  InitRepo(repo());
  WriteFile(repo() + "/shared.txt", "one\ntwo\nthree\nfour\nfive\nsix\nseven\n");
  CommitAll(repo(), "base");
  std::string base = Git("rev-parse HEAD");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "slow", "title": "Slow edit of the last line", "instructions": ""},
    {"id": "x1", "title": "Edit the first line", "instructions": ""},
    {"id": "x2", "title": "Add a file", "instructions": ""}]})");
  std::string agent =
      "case $SWARM_SUBTASK_ID in "
      "slow) sleep 5; sed -i s/seven/SEVEN/ shared.txt;; "
      "x1) sed -i s/one/ONE/ shared.txt;; "
      "x2) echo new > new.txt;; esac";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                          "--agents", "3", "--agent-cmd", agent, "--test-cmd", "grep -q o shared.txt", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string slow_base, slow_old_head;
  std::uint64_t last_seq = 0;
  for (const auto& e : Events(r.out)) {
    // proto3 JSON writes 64-bit integers as strings.
    std::uint64_t seq = std::stoull(e["seq"].get<std::string>());
    EXPECT_GT(seq, last_seq);
    last_seq = seq;
    if (e.contains("subtask_leased") && e["subtask_leased"]["subtask_id"] == "slow") {
      slow_base = e["subtask_leased"]["base_commit"];
    }
    if (e.contains("landed") && e["landed"]["subtask_ids"][0] == "slow") slow_old_head = e["landed"]["old_head"];
  }
  EXPECT_EQ(slow_base, base);
  ASSERT_FALSE(slow_old_head.empty());
  EXPECT_EQ(Git("rev-list --count " + base + ".." + slow_old_head), "2")
      << "the slow patch was composed on a head two landings past its base";
  std::string branch = Branch();
  EXPECT_EQ(Git("show " + branch + ":shared.txt"), "ONE\ntwo\nthree\nfour\nfive\nsix\nSEVEN");
  EXPECT_EQ(Git("show " + branch + ":new.txt"), "new");
}

TEST_F(E2eTest, AgentCommandsCannotSeeTheStateTheUserRepositoryHomeOrOtherWorkspaces) {
  InitRepo(repo());
  WriteFile(repo() + "/a.txt", "a\n");
  WriteFile(repo() + "/b.txt", "b\n");
  CommitAll(repo(), "base");
  WriteFile(repo() + "/secret-untracked.txt", "user secret\n");
  std::string home = dir_ / "home";
  WriteFile(home + "/.ssh/id_rsa", "private key\n");
  // Each agent probes what it must not reach and writes what it saw into its patch; the slow one
  // keeps its workspace alive while the other looks for it. The paths are built by the shell, as an
  // agent's own code would: a file the user's command names outright is shown to the agents.
  std::string probe =
      "s=" + state() + " r=" + repo() + " h=" + home + "; { for p in $s/swarm.db $r/secret-untracked.txt $r/a.txt "
      "$h/.ssh/id_rsa; do if cat $p >/dev/null 2>&1; then echo \"readable $p\"; else echo \"hidden $p\"; fi; done; "
      "ls /dev/shm 2>/dev/null | grep -c swarm | sed 's/^/workspace-roots-visible /'; "
      "find \"$(dirname \"$(dirname \"$PWD\")\")\" -maxdepth 3 -name 'shard-*' 2>/dev/null | "
      "grep -v \"/$SWARM_SUBTASK_ID\\.\" | wc -l | sed 's/^/other-workspaces /'; "
      "find \"$(dirname \"$(dirname \"$PWD\")\")\" -maxdepth 3 -name \"$SWARM_SUBTASK_ID.*\" | "
      "grep -c . | sed 's/^/own-workspace-seen /'; "
      "echo \"home $HOME\"; grep CapEff /proc/self/status; } > probe-$SWARM_SUBTASK_ID.txt; "
      "[ $SWARM_SUBTASK_ID = shard-1 ] && sleep 2; true";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "2",
                          "--independent", "--agents", "2", "--agent-cmd", probe, "--test-cmd", "true"},
                         {"HOME=" + home});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string branch = Branch();
  for (const char* id : {"shard-1", "shard-2"}) {
    std::string seen = Git("show " + branch + ":probe-" + id + ".txt");
    EXPECT_EQ(seen.find("readable"), std::string::npos) << seen;
    EXPECT_NE(seen.find("hidden " + state() + "/swarm.db"), std::string::npos) << seen;
    EXPECT_NE(seen.find("other-workspaces 0"), std::string::npos) << "only its own workspace: " << seen;
    EXPECT_EQ(seen.find("own-workspace-seen 0"), std::string::npos) << "the probe looked in the wrong place: " << seen;
    EXPECT_NE(seen.find("home " + home), std::string::npos) << seen;
    EXPECT_NE(seen.find("CapEff:\t0000000000000000"), std::string::npos) << seen;
  }
}

// --agent-network end to end: an agent command reaches out through the sandbox's NAT (to a port on
// this machine's own address, so nothing beyond it) but not the machine's loopback, and its patch lands.
TEST_F(E2eTest, AgentNetworkReachesOutButNotTheMachinesLoopbackAndLands) {
  std::string ip = MachineAddress();
  if (ip.empty()) GTEST_SKIP() << "this machine has no address beyond loopback to connect out to";
  auto listen_on = [](const std::string& at, int* port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, at.c_str(), &addr.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << at;
    EXPECT_EQ(listen(fd, 4), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    *port = ntohs(addr.sin_port);
    return fd;
  };
  int outside_port = 0, loopback_port = 0;
  int outside = listen_on(ip, &outside_port);
  int loopback = listen_on("127.0.0.1", &loopback_port);
  // Greets the first connection, or gives up when the run is over.
  std::jthread greeter([outside](std::stop_token stop) {
    pollfd p{outside, POLLIN, 0};
    while (!stop.stop_requested()) {
      if (poll(&p, 1, 100) != 1) continue;
      int c = accept4(outside, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      (void)!write(c, "hello from the host\n", 20);
      close(c);
      return;
    }
  });
  InitRepo(repo());
  WriteFile(repo() + "/a.txt", "a\n");
  CommitAll(repo(), "base");
  auto connect = [](const std::string& at, int port, const std::string& then) {
    return absl::StrCat("python3 -c \"import socket; s = socket.create_connection(('", at, "', ", port, "), 10); ",
                        then, "\"");
  };
  std::string agent = connect(ip, outside_port, "print(s.recv(100).decode().strip())") + " > outside.txt 2>&1; " +
                      connect("127.0.0.1", loopback_port, "print('reached')") + " > loopback.txt 2>&1; true";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "1",
                          "--agents", "1", "--agent-network", "--agent-cmd", agent, "--test-cmd", "true"});
  greeter.request_stop();
  greeter.join();
  close(outside);
  close(loopback);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("--agent-network"), std::string::npos) << "the warning: " << r.err;
  std::string branch = Branch();
  EXPECT_EQ(Git("show " + branch + ":outside.txt"), "hello from the host");
  std::string seen = Git("show " + branch + ":loopback.txt");
  EXPECT_EQ(seen.find("reached"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Connection refused"), std::string::npos) << seen;
}

TEST_F(E2eTest, ConflictingEditsRebaseWithTheConflictAndBothEditsLand) {
  InitRepo(repo());
  WriteFile(repo() + "/f.txt", "base\n");
  CommitAll(repo(), "base");
  // No files declared: both start from the base, edit the same line, and the second to merge conflicts.
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": ""}, {"id": "b", "title": "B", "instructions": ""}]})");
  // Without a conflict: write your letter. With one: keep the line now on the head, add your letter,
  // and say how many conflict markers the conflict file showed.
  std::string agent = "if [ -n \"$SWARM_CONFLICT_JSON\" ]; then "
                      "m=$(grep -c '<<<<<<<' \"$SWARM_CONFLICT_JSON\"); "
                      "echo \"$(cat f.txt) $SWARM_SUBTASK_ID(markers=$m)\" > f.txt; "
                      "else echo $SWARM_SUBTASK_ID > f.txt; fi";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents",
                          "2", "--agent-cmd", agent, "--test-cmd", "true"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string final_line = Git("show " + Branch() + ":f.txt");
  EXPECT_TRUE(final_line == "a b(markers=1)" || final_line == "b a(markers=1)") << final_line;
  EXPECT_NE(r.err.find("rebase 1 of 2"), std::string::npos) << r.err;
}

TEST_F(E2eTest, AConflictBeyondMaxRebasesFailsAsConflictExhausted) {
  InitRepo(repo());
  WriteFile(repo() + "/f.txt", "base\n");
  CommitAll(repo(), "base");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": ""}, {"id": "b", "title": "B", "instructions": ""}]})");
  // b merges after a (it sleeps) and conflicts; with no rebase allowed it fails at once.
  std::string agent = "echo $SWARM_SUBTASK_ID > f.txt; [ $SWARM_SUBTASK_ID = a ] || sleep 0.5";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents",
                          "2", "--max-rebases", "0", "--agent-cmd", agent, "--test-cmd", "true"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json report = OnlyReport(state());
  EXPECT_EQ(Outcomes(report)["a"], "landed");
  for (const auto& s : report["subtasks"]) {
    if (s["id"] == "b") {
      EXPECT_EQ(s["outcome"], "conflict_exhausted") << s.dump();
      EXPECT_NE(s["reason"].get<std::string>().find("after 0 rebases"), std::string::npos) << s.dump();
    }
  }
}

TEST_F(E2eTest, AFlakyTestRejectsNoGoodPatchAndIsReportedFlaky) {
  InitRepo(repo());
  for (int i = 1; i <= 4; ++i) WriteFile(repo() + "/f" + std::to_string(i) + ".txt", "x\n");
  CommitAll(repo(), "base");
  // Fails runs 1 and 5, keyed on the run index alone: no state. Tests run up to three at once (two
  // checks and the queue), so a re-run of run 1 gets an index of at most 4 and passes.
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "4",
                          "--independent", "--agents", "2", "--agent-cmd", "echo done >> $SWARM_FILES",
                          "--test-jobs", "2", "--test-cmd", "case $SWARM_TEST_RUN_INDEX in 1|5) exit 1;; esac"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json report = OnlyReport(state());
  for (const auto& [id, outcome] : Outcomes(report)) EXPECT_EQ(outcome, "landed") << id;
  ASSERT_TRUE(report["tests"]["flaky"].contains("(the test command)")) << report["tests"].dump();
  EXPECT_GE(report["tests"]["flaky"]["(the test command)"].get<int>(), 1);
  EXPECT_NE(r.out.find("flaky: (the test command)"), std::string::npos) << r.out;
  std::string run_id = report["run_id"];
  CliResult queue = RunSwarm({"show", run_id, "--queue", "--state-dir", state()});
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  EXPECT_NE(queue.out.find("flaky: (the test command)"), std::string::npos) << queue.out;
  EXPECT_NE(queue.out.find("queued    shard-1"), std::string::npos) << queue.out;
  EXPECT_NE(queue.out.find("landed    shard-"), std::string::npos) << queue.out;
}

TEST_F(E2eTest, AnOversizePatchAndAHangingTestAreRejectedWithTheirReasonsTheRestLands) {
  InitRepo(repo());
  WriteFile(repo() + "/README", "base\n");
  CommitAll(repo(), "base");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "big", "title": "a large binary", "instructions": ""},
    {"id": "hang", "title": "makes the tests hang", "instructions": ""},
    {"id": "small", "title": "a small change", "instructions": ""}]})");
  std::string agent = "case $SWARM_SUBTASK_ID in big) head -c 3000000 /dev/urandom > blob.bin;; "
                      "hang) echo x > hang.txt;; small) echo y > small.txt;; esac";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents",
                          "3", "--max-attempts", "1", "--max-patch-mb", "1", "--test-timeout", "1", "--agent-cmd",
                          agent, "--test-cmd", "if [ -e hang.txt ]; then sleep 60; fi"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json report = OnlyReport(state());
  auto outcomes = Outcomes(report);
  EXPECT_EQ(outcomes["small"], "landed");
  EXPECT_EQ(outcomes["big"], "failed_agent");
  EXPECT_EQ(outcomes["hang"], "rejected_check");
  for (const auto& s : report["subtasks"]) {
    std::string reason = s["reason"];
    if (s["id"] == "big") {
      EXPECT_NE(reason.find("larger than --max-patch-mb 1"), std::string::npos) << reason;
    }
    if (s["id"] == "hang") {
      EXPECT_NE(reason.find("timed out"), std::string::npos) << reason;
    }
  }
  EXPECT_EQ(Git("ls-tree --name-only " + Branch()), "README\nsmall.txt");
}

TEST_F(E2eTest, ABaseTestThatFailsOnceIsRunAgainBeforeTheRunStops) {
  InitRepo(repo());
  WriteFile(repo() + "/f.txt", "x\n");
  CommitAll(repo(), "base");
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "1",
                          "--agent-cmd", "echo y >> f.txt", "--test-cmd",
                          "case $SWARM_TEST_RUN_INDEX in 0) exit 1;; esac"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json report = OnlyReport(state());
  EXPECT_EQ(report["tests"]["flaky"]["(the test command)"], 1) << report["tests"].dump();
}

TEST_F(E2eTest, StalledHostLosesItsLeaseAndItsLateResultIsRefused) {
  InitRepo(repo());
  WriteFile(repo() + "/README", "base\n");
  CommitAll(repo(), "base");
  std::string base = Git("rev-parse HEAD");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": ""},
    {"id": "b", "title": "B keeps the run open", "instructions": ""}]})");
  std::string agent = "case $SWARM_SUBTASK_ID in a) sleep 3;; b) sleep 14;; esac; "
                      "echo \"$SWARM_SUBTASK_ID attempt $SWARM_ATTEMPT\" > $SWARM_SUBTASK_ID.txt";
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm", "run", "--repo", repo(), "--state-dir", state(), "--plan",
               dir_ / "plan.json", "--agents", "3", "--agent-hosts", "3", "--lease-timeout", "2",
               "--heartbeat-interval", "1", "--agent-cmd", agent, "--test-cmd", "true"};
  spec.timeout = std::chrono::seconds(120);
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });

  // At a known state: a's first lease is held. Stop its host (SIGSTOP: connected, but silent).
  pid_t host_pid = HostPidHoldingLease(state(), "a");
  ASSERT_GT(host_pid, 0);
  ASSERT_EQ(kill(host_pid, SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { kill(pid, SIGCONT); }
  } resume{host_pid};
  // Its lease expires, another host redoes a, and a lands.
  auto landed = WaitForEvent(state(), [](const v1::Event& e) {
    return e.has_landed() && e.landed().subtask_ids(0) == "a";
  });
  kill(host_pid, SIGCONT);
  ASSERT_TRUE(landed.has_value());
  // The stalled host, resumed, reports its first attempt: refused, and recorded as such.
  auto refused = WaitForEvent(state(), [](const v1::Event& e) {
    return e.has_result_refused() && absl::StartsWith(e.result_refused().lease_id(), "a#1-");
  });
  runner.join();
  EXPECT_TRUE(refused.has_value()) << "the late result was not recorded as refused";
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->out << result->err;
  auto expired = WaitForEvent(state(), [](const v1::Event& e) { return e.has_lease_expired(); });
  ASSERT_TRUE(expired.has_value());
  EXPECT_TRUE(absl::StartsWith(expired->lease_expired().lease_id(), "a#1-")) << "subtask, attempt, then random";
  EXPECT_EQ(expired->lease_expired().lease_id().size(), 4u + 32u) << expired->lease_expired().lease_id();
  // a landed exactly once, from its second attempt.
  std::string branch = Branch();
  EXPECT_EQ(Git("rev-list --count " + base + ".." + branch), "2");
  EXPECT_EQ(Git("show " + branch + ":a.txt"), "a attempt 2");
}

TEST_F(E2eTest, CtrlCStopsTheAgentsKeepsWhatLandedAndExits130) {
  InitRepo(repo());
  for (int i = 1; i <= 4; ++i) WriteFile(repo() + "/f" + std::to_string(i) + ".txt", "x\n");
  CommitAll(repo(), "base");
  std::string base = Git("rev-parse HEAD");
  std::string marker = "117." + std::to_string(getpid());
  std::string agent = "case $SWARM_SUBTASK_ID in shard-1) echo done >> f1.txt;; *) sleep " + marker +
                      "; echo late >> $SWARM_FILES;; esac";
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm", "run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt",
               "--parts", "4", "--independent", "--agents", "3", "--agent-cmd", agent, "--test-cmd", "true"};
  spec.timeout = std::chrono::seconds(100);
  std::atomic<int> pid{0};
  spec.on_start = [&pid](int p) { pid = p; };
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });
  // Interrupt at a known state: one patch landed on the integration ref, the other agents busy.
  bool landed = false;
  for (int i = 0; i < 600 && !landed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string out;
    landed = ShStatus("h=$(git --git-dir=$(ls -d " + state() + "/runs/*/integration.git) rev-parse "
                      "refs/heads/integration) && test \"$h\" != " + base, &out) == 0;
  }
  if (!landed && pid.load() > 0) kill(pid.load(), SIGKILL);  // to see what it printed
  if (!landed) runner.join();
  ASSERT_TRUE(landed) << "the fast shard never landed: "
                      << (result.ok() ? result->out + result->err : std::string(result.status().message()));
  ASSERT_GT(pid.load(), 0);
  kill(pid.load(), SIGINT);
  runner.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->timed_out) << "Ctrl-C did not stop the run";
  EXPECT_EQ(result->exit_code, 130) << result->out << result->err;
  nlohmann::json report = OnlyReport(state());
  EXPECT_EQ(report["state"], "cancelled");
  const std::string run_id = report["run_id"];
  EXPECT_NE(result->out.find("`swarm resume " + run_id + " --state-dir "), std::string::npos)
      << "the summary says how to go on, with the state directory (not the default): " << result->out;
  EXPECT_NE(result->out.find("` goes on from here"), std::string::npos) << result->out;
  auto outcomes = Outcomes(report);
  EXPECT_EQ(outcomes["shard-1"], "landed");
  for (const char* id : {"shard-2", "shard-3", "shard-4"}) EXPECT_EQ(outcomes[id], "cancelled") << id;
  // What landed stays, on the result branch; no agent survives.
  std::string branch = Branch();
  EXPECT_EQ(Git("show " + branch + ":f1.txt"), "x\ndone");
  EXPECT_NE(ShStatus("pgrep -f 'slee[p] " + marker + "'"), 0) << "an agent command outlived the run";
}

}  // namespace
}  // namespace swarm::testing
