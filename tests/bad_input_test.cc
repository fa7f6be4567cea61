// Bad input: a clear one-line error naming what was wrong, exit 2 (3 for what the machine lacks),
// and no change to the user's repository.
#include <gtest/gtest.h>

#include <filesystem>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/a.c", "int a;\n");
    WriteFile(repo() + "/b.c", "int b;\n");
    CommitAll(repo(), "base");
    before_ = UserVisibleState(repo());
  }
  void TearDown() override {
    EXPECT_EQ(before_, UserVisibleState(repo())) << "the repository changed";
    EXPECT_EQ(Sh("git -C " + repo() + " for-each-ref refs/heads/swarm/"), "");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  // A run with a plan file holding `plan`.
  CliResult RunPlan(const std::string& plan) {
    WriteFile(dir_ / "plan.json", plan);
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                     "--agent-cmd", "true", "--test-cmd", "true"});
  }
  CliResult RunShard(const std::string& glob, const std::string& parts) {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", glob, "--parts", parts,
                     "--agent-cmd", "true", "--test-cmd", "true"});
  }
  static void ExpectError(const CliResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.exit_code, code) << r.out << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr should name the problem: " << r.err;
    EXPECT_EQ(r.err.find("swarm: "), 0u) << r.err;
  }

  TempDir dir_;
  std::string before_;
};

TEST_F(BadInputTest, NotAGitRepository) {
  fs::create_directories(dir_ / "plain");
  CliResult r = RunSwarm({"run", "--repo", dir_ / "plain", "--state-dir", state(), "--shard", "*.c", "--parts", "2",
                          "--agent-cmd", "true", "--test-cmd", "true"});
  ExpectError(r, 2, "is not a git repository");
}

TEST_F(BadInputTest, BaseThatDoesNotResolve) {
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--base", "no-such-branch", "--shard",
                          "*.c", "--parts", "2", "--agent-cmd", "true", "--test-cmd", "true"});
  ExpectError(r, 2, "no-such-branch");
}

TEST_F(BadInputTest, PlanThatIsNotJson) { ExpectError(RunPlan("{\"subtasks\": [}"), 2, "not valid JSON"); }

TEST_F(BadInputTest, PlanMissingAField) {
  ExpectError(RunPlan(R"({"subtasks": [{"id": "a", "instructions": "x"}]})"), 2, "missing field \"title\"");
}

TEST_F(BadInputTest, PlanRepeatingAnId) {
  ExpectError(RunPlan(R"({"subtasks": [{"id": "a", "title": "A", "instructions": ""},
                                       {"id": "a", "title": "B", "instructions": ""}]})"),
              2, "\"a\" is used twice");
}

TEST_F(BadInputTest, PlanWithACycle) {
  ExpectError(RunPlan(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "depends_on": ["b"]},
                                       {"id": "b", "title": "B", "instructions": "", "depends_on": ["a"]}]})"),
              2, "dependency cycle");
}

TEST_F(BadInputTest, PlanMisusingAGroup) {
  ExpectError(RunPlan(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "group": "g"},
                                       {"id": "b", "title": "B", "instructions": "", "group": "g",
                                        "depends_on": ["a"]}]})"),
              2, "own group");
  ExpectError(RunPlan(R"({"subtasks": [{"id": "a", "title": "A", "instructions": ""}],
                          "groups": {"g": {"partial": false}}})"),
              2, "group \"g\" has no member");
}

TEST_F(BadInputTest, ShardGlobMatchingNothing) { ExpectError(RunShard("*.py", "2"), 2, "'*.py' matches no tracked file"); }

TEST_F(BadInputTest, ShardPartsNotPositive) {
  ExpectError(RunShard("*.c", "0"), 2, "--parts");
  ExpectError(RunShard("*.c", "-3"), 2, "--parts");
}

TEST_F(BadInputTest, TestCommandFailingOnTheBaseStopsBeforeAnyAgent) {
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "2",
                          "--agent-cmd", "touch agent-ran", "--test-cmd", "echo base is broken; exit 1", "--json"});
  ExpectError(r, 2, "fails on the base commit");
  EXPECT_EQ(r.out.find("subtask_leased"), std::string::npos) << "an agent started: " << r.out;
  EXPECT_EQ(r.out.find("agent_registered"), std::string::npos) << "a host started: " << r.out;
  // The message names the log, and the log has the test's output.
  auto at = r.err.find("log: ");
  ASSERT_NE(at, std::string::npos);
  std::string log = r.err.substr(at + 5);
  log = log.substr(0, log.find('\n'));
  EXPECT_NE(ReadFile(log).find("base is broken"), std::string::npos);
}

TEST_F(BadInputTest, UnwritableStateDirectory) {
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", "/proc/swarm-state", "--shard", "*.c", "--parts",
                          "2", "--agent-cmd", "true", "--test-cmd", "true"});
  ExpectError(r, 2, "state directory /proc/swarm-state");
}

TEST_F(BadInputTest, RepositoryWithASubmodule) {
  std::string sha = Sh("git -C " + repo() + " rev-parse HEAD");
  sha.pop_back();
  Sh("cd " + repo() + " && git update-index --add --cacheinfo 160000," + sha + ",vendor/lib && "
     "git -c user.name=t -c user.email=t@t commit -qm 'add a submodule'");
  before_ = UserVisibleState(repo());
  ExpectError(RunShard("*.c", "2"), 2, "submodule at vendor/lib");
}

TEST_F(BadInputTest, RepositoryWithSha256ObjectNames) {
  const std::string sha256 = dir_ / "sha256";
  Sh("git init -q --object-format=sha256 " + sha256 + " && cd " + sha256 +
     " && echo 'int a;' > a.c && git add a.c && git -c user.name=t -c user.email=t@t commit -qm base");
  before_ = UserVisibleState(sha256);
  CliResult r = RunSwarm({"run", "--repo", sha256, "--state-dir", state(), "--shard", "*.c", "--parts", "1",
                          "--agent-cmd", "true", "--test-cmd", "true"});
  ExpectError(r, 2, "SHA-256");
  EXPECT_EQ(UserVisibleState(sha256), before_);
  before_ = UserVisibleState(repo());  // the fixture's own check is of its repository
}

TEST_F(BadInputTest, LfsFilesInTheShard) {
  WriteFile(repo() + "/.gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n");
  WriteFile(repo() + "/blob.bin", "version https://git-lfs.github.com/spec/v1\n");
  CommitAll(repo(), "lfs");
  before_ = UserVisibleState(repo());
  ExpectError(RunShard("*.bin", "1"), 2, "blob.bin, which is stored in Git LFS");
}

TEST_F(BadInputTest, MissingBubblewrapIsAnEnvironmentError) {
  // A PATH with git and a shell but no bwrap.
  fs::create_directories(dir_ / "bin");
  for (const char* tool : {"git", "sh"}) {
    Sh(std::string("ln -s \"$(command -v ") + tool + ")\" " + (dir_ / "bin/") + tool);
  }
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "2",
                          "--agent-cmd", "true", "--test-cmd", "true"},
                         {"PATH=" + (dir_ / "bin")});
  ExpectError(r, 3, "bubblewrap");
}

TEST_F(BadInputTest, MissingRequiredFlagsAndUnknownFlags) {
  ExpectError(RunSwarm({"run", "--repo", repo(), "--shard", "*.c", "--parts", "2", "--test-cmd", "true"}), 2,
              "--agent-cmd");
  ExpectError(RunSwarm({"run", "--repo", repo(), "--agent-cmd", "true", "--test-cmd", "true"}), 2, "--plan");
  CliResult r = RunSwarm({"run", "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const char* bad : {"--memory-limit-mb=abc", "--max-file-mb=-1", "--agent-timeout=-5", "--test-timeout=0"}) {
    r = RunSwarm({"run", "--repo", repo(), "--shard", "*.c", "--parts", "1", "--agent-cmd", "true", "--test-cmd",
                  "true", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find(std::string(bad).substr(0, std::string(bad).find('='))), std::string::npos) << r.err;
  }
}

TEST_F(BadInputTest, ReadOnlyBindThatWouldExposeAHiddenPath) {
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "1",
                          "--agent-cmd", "true", "--test-cmd", "true", "--sandbox-ro-bind", dir_.path()});
  ExpectError(r, 2, "would expose");
}

TEST_F(BadInputTest, BuildCacheInsideTheRepositoryOverTheStateOrNotADirectory) {
  auto run = [&](const std::string& cache) {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "1", "--agent-cmd",
                     "true", "--test-cmd", "true", "--build-cache", cache});
  };
  ExpectError(run(repo() + "/cache"), 2, "--build-cache " + repo() + "/cache: it is inside");
  EXPECT_FALSE(fs::exists(repo() + "/cache")) << "nothing is made before the checks pass";
  ExpectError(run(repo() + "/.git/cache"), 2, "it is inside");
  ExpectError(run(state() + "/cache"), 2, "holds secrets");
  WriteFile(dir_ / "someone-elses/notes.txt", "x\n");
  ExpectError(run(dir_ / "someone-elses"), 2, "a directory swarm did not make");
  EXPECT_EQ(ReadFile(dir_ / "someone-elses/notes.txt"), "x\n");
  WriteFile(dir_ / "a-file", "x\n");
  ExpectError(run(dir_ / "a-file"), 2, "not a directory");
  ExpectError(run("/proc/cache"), 2, "the sandbox has its own /proc");
}

TEST_F(BadInputTest, FileNameThatIsNotUtf8) {
  WriteFile(repo() + "/caf\xe9.c", "int x;\n");
  CommitAll(repo(), "latin-1 name");
  before_ = UserVisibleState(repo());
  ExpectError(RunShard("*.c", "2"), 2, "not UTF-8");
}

TEST_F(BadInputTest, DryRunPrintsSubtasksAndGroupsAndStartsNothing) {
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.c", "--parts", "2",
                          "--agent-cmd", "true", "--test-cmd", "true", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("shard-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a.c"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("group shards"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(state())) << "a dry run creates no state";
}

}  // namespace
}  // namespace swarm::testing
