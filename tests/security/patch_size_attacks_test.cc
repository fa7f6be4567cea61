// Findings 4, 8 and 9: patches and workspaces that cost the machine far more than they look. A small
// patch of hard links to one compressible file that expands to gigabytes in every test copy; a diff
// larger than the gRPC message limit that killed its agent host; a workspace filled with files.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "git/git.h"
#include "orchestrator/run/path_policy.h"
#include "sandbox/tree_usage.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

class PatchSizeAttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/a.c", "int a;\n");
    WriteFile(repo() + "/b.c", "int b;\n");
    CommitAll(repo(), "base");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  // A run of the subtasks `ids`, each agent running `agent` (which may look at $SWARM_SUBTASK_ID).
  CliResult Run(const std::vector<std::string>& ids, const std::string& agent, std::vector<std::string> extra) {
    std::string plan = R"({"subtasks": [)";
    for (std::size_t i = 0; i < ids.size(); ++i) {
      plan += (i ? "," : "") + std::string(R"({"id": ")") + ids[i] + R"(", "title": "T", "instructions": "x"})";
    }
    WriteFile(dir_ / "plan.json", plan + "]}");
    std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                                     "--agent-cmd", agent, "--test-cmd", "true", "--max-attempts", "1",
                                     "--agent-hosts", "1", "--agents", std::to_string(ids.size())};
    args.insert(args.end(), extra.begin(), extra.end());
    return Swarm(args);
  }
  virtual CliResult Swarm(const std::vector<std::string>& args) { return RunSwarm(args); }
  std::map<std::string, nlohmann::json> Subtasks() {
    std::map<std::string, nlohmann::json> out;
    const nlohmann::json report = OnlyReport(state());
    for (const auto& s : report["subtasks"]) out[s["id"].get<std::string>()] = s;
    return out;
  }

  TempDir dir_;
};

// Seven names for one 20 MB file of zeros: a patch of a few hundred KB, 140 MB once checked out.
TEST_F(PatchSizeAttacksTest, HardLinkBombIsRefusedBeforeAnyTestTreeIsWritten) {
  CliResult r = Run({"bomb"}, "head -c 20000000 /dev/zero > big && for i in 1 2 3 4 5 6; do ln big link$i; done",
                    {"--max-patch-expanded-mb", "50"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json s = Subtasks()["bomb"];
  EXPECT_EQ(s["outcome"], "failed_agent") << s.dump();
  std::string reason = s["reason"].get<std::string>();
  EXPECT_NE(reason.find("--max-patch-expanded-mb 50"), std::string::npos) << reason;
  // No test ran on it: the only test log is the base's.
  std::string run_id = OnlyReport(state())["run_id"].get<std::string>();
  EXPECT_FALSE(std::filesystem::exists(state() + "/runs/" + run_id + "/logs/bomb.test.log"));
}

// The same bomb as a forged tree, as a host that skipped its own checks would submit it: the
// coordinator refuses it before it writes any test tree.
TEST_F(PatchSizeAttacksTest, CoordinatorRefusesTheBombAHostLetThrough) {
  std::string git = "git -C " + repo() + " ";
  std::string blob = Trim(Sh("head -c 20000000 /dev/zero | " + git + "hash-object -w --stdin"));
  std::string entries = Trim(Sh(git + "ls-tree HEAD"));
  for (int i = 0; i < 7; ++i) entries += "\\n100644 blob " + blob + "\\tlink" + std::to_string(i);
  std::string tree = Trim(Sh("printf '" + entries + "\\n' | " + git + "mktree"));
  std::string base = Trim(Sh(git + "rev-parse HEAD"));
  absl::Status st = CheckSubmittedPatch(Git::AtGitDir(repo() + "/.git"), base, tree, PathPolicy({}),
                                        PatchLimits{50ull << 20, 10000});
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_NE(st.message().find("133 MiB"), std::string::npos) << st;
  st = CheckSubmittedPatch(Git::AtGitDir(repo() + "/.git"), base, tree, PathPolicy({}), PatchLimits{50ull << 20, 5});
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(CheckSubmittedPatch(Git::AtGitDir(repo() + "/.git"), base, tree, PathPolicy({}),
                                  PatchLimits{200ull << 20, 10000})
                  .ok());
}

// A diff past --max-patch-mb fails its own attempt, with the reason; the other agent of the same
// host carries on and lands (the host used to die on the oversized message).
TEST_F(PatchSizeAttacksTest, OversizedPatchFailsAloneAndItsHostLivesOn) {
  CliResult r = Run({"huge", "small"},
                    "if [ $SWARM_SUBTASK_ID = huge ]; then head -c 3000000 /dev/urandom > blob.bin; "
                    "else sleep 1; echo 'int c;' > c.c; fi",
                    {"--max-patch-mb", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  std::map<std::string, nlohmann::json> s = Subtasks();
  EXPECT_EQ(s["small"]["outcome"], "landed") << s["small"].dump();
  EXPECT_EQ(s["huge"]["outcome"], "failed_agent") << s["huge"].dump();
  EXPECT_NE(s["huge"]["reason"].get<std::string>().find("--max-patch-mb 1"), std::string::npos)
      << s["huge"].dump();
}

// A workspace filled with files is refused before git hashes any of them.
TEST_F(PatchSizeAttacksTest, WorkspaceFloodIsRefused) {
  CliResult r = Run({"flood"}, "mkdir f && cd f && seq 1 3000 | xargs touch", {"--max-workspace-files", "1000"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json s = Subtasks()["flood"];
  EXPECT_EQ(s["outcome"], "failed_agent") << s.dump();
  EXPECT_NE(s["reason"].get<std::string>().find("--max-workspace-files 1000"), std::string::npos) << s.dump();
}

// Every log of the run whose name starts with `prefix`, concatenated.
std::string Logs(const std::string& state, const std::string& prefix) {
  std::string out;
  const std::string run_id = OnlyReport(state)["run_id"].get<std::string>();
  for (const auto& e : std::filesystem::directory_iterator(state + "/runs/" + run_id + "/logs")) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out += ReadFile(e.path().string());
  }
  return out;
}

// swarm as the test's user (root, or an unprivileged user the test creates), on a machine whose
// /dev/shm holds 4 MiB (a CI container's holds 64 MB), made by a mount namespace of the run's own.
CliResult RunSwarmOnASmallShm(const passwd* user, const std::string& home, const std::vector<std::string>& args) {
  std::vector<std::string> prefix = {"unshare",
                                     "--mount",
                                     "--propagation",
                                     "private",
                                     "sh",
                                     "-c",
                                     "mount -t tmpfs -o size=4m swarm-small-shm /dev/shm && exec \"$0\" \"$@\""};
  std::vector<std::string> env;
  if (user != nullptr) {
    prefix.insert(prefix.end(), {"setpriv", absl::StrCat("--reuid=", user->pw_uid),
                                 absl::StrCat("--regid=", user->pw_gid), "--clear-groups", "--"});
    env = {"HOME=" + home, "XDG_RUNTIME_DIR=", "USER=" + std::string(user->pw_name)};
  }
  return RunSwarmWith(prefix, args, env);
}

// The flood attacks, as root and as an unprivileged user the test creates (the first parameter),
// with the machine's /dev/shm and with one of 4 MiB (the second): the run's trees are in a tmpfs of
// the run's own, sized from the RAM, either way.
class FloodAttacksTest : public PatchSizeAttacksTest, public ::testing::WithParamInterface<std::tuple<bool, bool>> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run as root and as a user it creates (CI runs as root)";
    PatchSizeAttacksTest::SetUp();
    if (std::get<0>(GetParam())) {
      user_ = UnprivilegedTestUser();
      ASSERT_NE(user_, nullptr);
      Sh(absl::StrCat("chown -R ", user_->pw_uid, ":", user_->pw_gid, " ", dir_.path()));
    }
  }
  CliResult Swarm(const std::vector<std::string>& args) override {
    if (!std::get<1>(GetParam())) return user_ != nullptr ? RunSwarmAs(*user_, dir_.path(), args) : RunSwarm(args);
    CliResult r = RunSwarmOnASmallShm(user_, dir_.path(), args);
    EXPECT_NE(r.out.find("workspaces on tmpfs"), std::string::npos) << r.out << r.err;
    return r;
  }
  const passwd* user_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(AsRootAndAsAUser, FloodAttacksTest, ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<bool, bool>>& i) {
                           return std::string(std::get<0>(i.param) ? "user" : "root") +
                                  (std::get<1>(i.param) ? "_small_shm" : "");
                         });

// The cap holds while the agent writes: its layer (an overlay workspace, as root) or its clone (as a
// user, in the host's own user namespace) is a tmpfs of its own. It cannot make the files it asked
// for, so no agent starves the others of inodes before its patch is measured.
TEST_P(FloodAttacksTest, WorkspaceFloodStopsAtTheCapWhileTheAgentRuns) {
  CliResult r = Run({"flood"},
                    "mkdir f && i=0; while [ $i -lt 3000 ]; do touch f/$i 2>/dev/null || break; i=$((i+1)); done; "
                    "echo made $i files",
                    {"--max-workspace-files", "1000"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json s = Subtasks()["flood"];
  EXPECT_EQ(s["outcome"], "failed_agent") << s.dump();
  const std::string reason = s["reason"].get<std::string>();
  EXPECT_NE(reason.find("--max-workspace-files 1000"), std::string::npos) << reason;
  EXPECT_NE(reason.find("No space left on device"), std::string::npos) << reason;
  const std::string log = Logs(state(), "flood");
  const std::size_t at = log.rfind("made ");  // the output, after the command line
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_LT(std::stoi(log.substr(at + 5)), 1100) << "the agent wrote past the cap: " << log.substr(at, 20);
}

// The same for a test run: a patched test that floods its tree stops at the run's cap (the test
// here passes only if it does), and the patch still lands.
TEST_P(FloodAttacksTest, TestRunFloodStopsAtTheCap) {
  const std::string flood =
      "i=0; while [ $i -lt 3000 ]; do touch t$i 2>/dev/null || break; i=$((i+1)); done; echo made $i files; "
      "[ $i -lt 3000 ]";
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "c", "title": "T", "instructions": "x"}]})");
  CliResult r = Swarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agent-cmd",
                       "echo 'int c;' > c.c", "--test-cmd", flood, "--max-attempts", "1", "--agent-hosts", "1",
                       "--max-workspace-files", "1000"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Subtasks()["c"]["outcome"], "landed") << Subtasks()["c"].dump();
  const std::string log = Logs(state(), "");
  const std::size_t at = log.find("made ", log.find("echo made $i files") + 18);  // the output, not the command
  ASSERT_NE(at, std::string::npos) << log;
  const int made = std::stoi(log.substr(at + 5));
  EXPECT_GE(made, 1000) << "the test could not write what the cap allows";
  EXPECT_LT(made, 1100) << "the test wrote past the cap";
}

// The flood attacks where the workspaces are on disk: with --keep-workspaces (kept clones must
// outlive the run, so they are not in its own tmpfs) on a machine whose /dev/shm is too small for the
// run. No file system of its own caps a tree there; a guard watches each tree while a command writes
// it and stops the command past its limits (sandbox/growth_guard.h). Before it, a command could write
// until its time-out. As root and as a user the test creates.
class DiskFloodAttacksTest : public PatchSizeAttacksTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run as root and as a user it creates (CI runs as root)";
    PatchSizeAttacksTest::SetUp();
    if (GetParam()) {
      user_ = UnprivilegedTestUser();
      ASSERT_NE(user_, nullptr);
      Sh(absl::StrCat("chown -R ", user_->pw_uid, ":", user_->pw_gid, " ", dir_.path()));
    }
  }
  CliResult Swarm(const std::vector<std::string>& args) override {
    std::vector<std::string> kept = args;
    if (std::find(kept.begin(), kept.end(), "--keep-workspaces") == kept.end()) kept.push_back("--keep-workspaces");
    CliResult r = RunSwarmOnASmallShm(user_, dir_.path(), kept);
    EXPECT_NE(r.out.find("workspaces on disk"), std::string::npos) << r.out << r.err;
    return r;
  }
  const passwd* user_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(AsRootAndAsAUser, DiskFloodAttacksTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "user" : "root"; });

// An agent that makes files as fast as a shell can, for as long as it is let (its time-out here is
// ten minutes), is stopped past its cap; the run fails the attempt naming the flag.
TEST_P(DiskFloodAttacksTest, AnAgentFloodingAWorkspaceOnDiskIsStopped) {
  CliResult r = Run({"flood"}, "mkdir f && i=0; while :; do : > f/$i; i=$((i+1)); done",
                    {"--max-workspace-files", "1000", "--agent-timeout", "600"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json s = Subtasks()["flood"];
  EXPECT_EQ(s["outcome"], "failed_agent") << s.dump();
  EXPECT_NE(s["reason"].get<std::string>().find("--max-workspace-files 1000"), std::string::npos) << s.dump();
  EXPECT_NE(Logs(state(), "flood").find("[swarm: the command was stopped: the tree it writes"), std::string::npos);
}

// What a walk of the tree does not see: a file deleted and held open, one preallocated past its size.
// Each writes 40 MB against a cap of 8, then waits for its time-out.
TEST_P(DiskFloodAttacksTest, DeletedAndPreallocatedFilesCountToo) {
  CliResult r = Run({"deleted", "preallocated"},
                    "case $SWARM_SUBTASK_ID in "
                    "deleted) exec 3>held; rm held; head -c 40000000 /dev/zero >&3;; "
                    "preallocated) : > held; fallocate --keep-size -l 40000000 held;; esac; sleep 600",
                    {"--max-workspace-mb", "8", "--agent-timeout", "600"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* id : {"deleted", "preallocated"}) {
    EXPECT_EQ(Subtasks()[id]["outcome"], "failed_agent") << Subtasks()[id].dump();
    EXPECT_NE(Logs(state(), id).find("[swarm: the command was stopped"), std::string::npos) << id;
  }
}

// Files past the cap behind a directory no one may read: the guard counts them, or, where it cannot
// read the directory, takes that as past the limits too.
TEST_P(DiskFloodAttacksTest, FilesInAnUnreadableDirectoryCountToo) {
  CliResult r = Run({"hide"}, "mkdir d && cd d && seq 1 2000 | xargs touch && cd .. && chmod 000 d && sleep 600",
                    {"--max-workspace-files", "1000", "--agent-timeout", "600"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Subtasks()["hide"]["outcome"], "failed_agent") << Subtasks()["hide"].dump();
  EXPECT_NE(Logs(state(), "hide").find("[swarm: the command was stopped"), std::string::npos);
}

// The same, --keep-workspaces named by the user.
TEST_P(DiskFloodAttacksTest, AKeptWorkspaceIsWatchedToo) {
  CliResult r = Run({"flood"}, "mkdir f && i=0; while :; do : > f/$i; i=$((i+1)); done",
                    {"--max-workspace-files", "1000", "--agent-timeout", "600", "--keep-workspaces"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Subtasks()["flood"]["outcome"], "failed_agent") << Subtasks()["flood"].dump();
  EXPECT_NE(Logs(state(), "flood").find("[swarm: the command was stopped"), std::string::npos);
}

// A patched test that floods its tree on disk (the base's passes) is stopped, and the patch does not
// land on it.
TEST_P(DiskFloodAttacksTest, ATestFloodingItsTreeOnDiskIsStopped) {
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "c", "title": "T", "instructions": "x"}]})");
  CliResult r =
      Swarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agent-cmd",
             "echo 'int c;' > c.c", "--test-cmd", "[ ! -f c.c ] || { i=0; while :; do : > t$i; i=$((i+1)); done; }",
             "--test-timeout", "600", "--max-attempts", "1", "--agent-hosts", "1", "--max-workspace-files", "1000"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(Subtasks()["c"]["outcome"], "landed") << Subtasks()["c"].dump();
  EXPECT_NE(Logs(state(), "").find("[swarm: the command was stopped: the tree it writes"), std::string::npos);
}

TEST(TreeUsageTest, CountsEveryLinkAndStopsPastTheLimit) {
  TempDir dir;
  WriteFile(dir / "t/a", std::string(1000, 'x'));
  ASSERT_EQ(link((dir / "t/a").c_str(), (dir / "t/b").c_str()), 0);
  ASSERT_EQ(symlink("a", (dir / "t/c").c_str()), 0);
  absl::StatusOr<TreeUsage> u = MeasureTree(dir / "t", TreeUsage{~0ull, ~0ull});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->bytes, 2000u);    // the link counts as git would store it: twice
  EXPECT_EQ(u->entries, 4u);     // the directory, two names, the symlink (not followed)
  for (int i = 0; i < 100; ++i) WriteFile(dir / ("t/many" + std::to_string(i)), "");
  u = MeasureTree(dir / "t", TreeUsage{~0ull, 10});
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->Exceeds(TreeUsage{~0ull, 10}));
  EXPECT_LT(u->entries, 20u) << "the walk goes on past the limit";
  EXPECT_EQ(MeasureTree(dir / "absent", TreeUsage{}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace swarm::testing
