// Finding 16: untrusted run inputs. Plans naming paths outside the repository, plan and task files
// that are devices or FIFOs or huge, shard globs leaving the repository, and read-only binds that
// would show secrets to agents. Each is refused with exit 2 and the reason, before anything exists:
// the repository is unchanged and no run is created.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

class InputAttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/a.c", "int a;\n");
    CommitAll(repo(), "base");
    fs::create_directories(home() + "/.ssh");
    WriteFile(home() + "/.ssh/id_ed25519", "PRIVATE KEY\n");
    WriteFile(home() + "/tools/agent.sh", "#!/bin/sh\ntrue\n");
    before_ = UserVisibleState(repo());
  }
  void TearDown() override {
    EXPECT_EQ(before_, UserVisibleState(repo())) << "the repository changed";
    EXPECT_EQ(Sh("git -C " + repo() + " for-each-ref refs/heads/swarm/"), "");
    std::error_code ec;
    EXPECT_TRUE(!fs::exists(state() + "/runs", ec) || fs::is_empty(state() + "/runs", ec)) << "a run was created";
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  std::string home() const { return dir_ / "home"; }

  CliResult Run(std::vector<std::string> extra, bool dry_run = false) {
    std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--agent-cmd", "true",
                                     "--test-cmd", "true"};
    if (dry_run) args.push_back("--dry-run");
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSwarm(args, {"HOME=" + home(), "XDG_CONFIG_HOME=" + home() + "/.config"});
  }
  CliResult RunPlan(const std::string& plan) {
    WriteFile(dir_ / "plan.json", plan);
    return Run({"--plan", dir_ / "plan.json"});
  }
  static void ExpectRefused(const CliResult& r, const std::vector<std::string>& needles) {
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    for (const auto& needle : needles) {
      EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr should say " << needle << ": " << r.err;
    }
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "unescaped ESC on the terminal: " << r.err;
  }

  TempDir dir_;
  std::string before_;
};

TEST_F(InputAttacksTest, PlanFilesOutsideTheRepositoryAreRefused) {
  for (const std::string file : {"../../etc/passwd", "/etc/shadow", ".git/config", "a/../../x", "foo/.git/hooks/x",
                                 "", "a\\u0000b", "x\\u001b]0;pwned\\u0007"}) {
    SCOPED_TRACE(file);
    CliResult r = RunPlan(R"({"subtasks": [{"id": "evil", "title": "T", "instructions": "x", "files": [")" + file +
                          R"("]}]})");
    ExpectRefused(r, {"subtask \"evil\"", "is not a path inside the repository"});
  }
  ExpectRefused(RunPlan(R"({"subtasks": [{"id": "evil", "title": "T", "instructions": "x",
                                          "files": ["../../etc/passwd"]}]})"),
                {"\"../../etc/passwd\""});
}

TEST_F(InputAttacksTest, PlanFromADeviceIsRefusedNotRead) {
  ExpectRefused(Run({"--plan", "/dev/zero"}), {"/dev/zero", "not a regular file"});
}

TEST_F(InputAttacksTest, PlanFromAFifoIsRefusedWithoutWaiting) {
  std::string fifo = dir_ / "plan.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ExpectRefused(Run({"--plan", fifo}), {"plan.fifo", "not a regular file"});
}

TEST_F(InputAttacksTest, PlanLargerThanTheCapIsRefused) {
  std::string big = dir_ / "big.json";
  {
    std::ofstream f(big, std::ios::binary);
    f << R"({"subtasks": [{"id": "a", "title": "T", "instructions": ")";
    f << std::string((16u << 20) + 1, 'x') << R"("}]})";
  }
  ExpectRefused(Run({"--plan", big}), {"big.json", "larger than the limit"});
}

TEST_F(InputAttacksTest, TaskFileFromADeviceIsRefused) {
  ExpectRefused(Run({"--task-file", "/dev/zero", "--model", "test:m"}), {"/dev/zero", "not a regular file"});
}

TEST_F(InputAttacksTest, ShardGlobLeavingTheRepositoryIsRefused) {
  ExpectRefused(Run({"--shard", "../*", "--parts", "1"}), {"--shard '../*'", "inside the repository"});
  ExpectRefused(Run({"--shard", "/etc/*", "--parts", "1"}), {"--shard '/etc/*'", "not absolute"});
  ExpectRefused(Run({"--shard", ".git/*", "--parts", "1"}), {"--shard '.git/*'", ".git"});
}

TEST_F(InputAttacksTest, BindOfSshKeysIsRefused) {
  ExpectRefused(Run({"--shard", "*.c", "--parts", "1", "--sandbox-ro-bind", home() + "/.ssh"}, true),
                {"--sandbox-ro-bind", ".ssh", "holds secrets"});
  ExpectRefused(Run({"--shard", "*.c", "--parts", "1", "--sandbox-ro-bind", home() + "/.ssh/id_ed25519"}, true),
                {".ssh", "holds secrets"});
}

TEST_F(InputAttacksTest, BindOfAFolderHoldingSecretsIsRefused) {
  for (const std::string& bind : {home(), dir_.path(), std::string("/"), std::string("/root"), std::string("/etc/shadow")}) {
    SCOPED_TRACE(bind);
    ExpectRefused(Run({"--shard", "*.c", "--parts", "1", "--sandbox-ro-bind", bind}, true), {"would expose"});
  }
}

TEST_F(InputAttacksTest, BindThroughASymlinkToSecretsIsRefused) {
  fs::create_directory_symlink(home() + "/.ssh", home() + "/innocent");
  ExpectRefused(Run({"--shard", "*.c", "--parts", "1", "--sandbox-ro-bind", home() + "/innocent"}, true),
                {"holds secrets"});
}

TEST_F(InputAttacksTest, BindOfSwarmConfigWithProviderKeysIsRefused) {
  WriteFile(home() + "/.config/swarm/models.toml", "[providers.x]\n");
  ExpectRefused(Run({"--shard", "*.c", "--parts", "1", "--sandbox-ro-bind", home() + "/.config/swarm"}, true),
                {".config/swarm", "holds secrets"});
}

TEST_F(InputAttacksTest, BindOfAnOrdinaryFileUnderHomeIsAllowed) {
  CliResult r = Run({"--shard", "*.c", "--parts", "1", "--sandbox-ro-bind", home() + "/tools/agent.sh"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace swarm::testing
