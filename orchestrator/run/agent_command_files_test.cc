#include "orchestrator/run/agent_command_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> Texts(const std::vector<ShellWord>& words, bool programs) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    if (w.program == programs) out.push_back(w.text);
  }
  return out;
}

TEST(LiteralWordsTest, SplitsAsTheShellDoesAndMarksPrograms) {
  auto words = LiteralWords("FOO=1 ./do-subtask.sh --flag 'two words' \"dq\" a\\ b && python3 ~/bin/agent.py | tee log");
  EXPECT_EQ(Texts(words, true), (std::vector<std::string>{"./do-subtask.sh", "python3", "tee"}));
  EXPECT_EQ(Texts(words, false),
            (std::vector<std::string>{"--flag", "two words", "dq", "a b", "~/bin/agent.py", "log"}));
}

TEST(LiteralWordsTest, LeavesOutWhatOnlyTheShellKnows) {
  auto words = LiteralWords("sed -i \"s/a/$B/\" $SWARM_FILES *.c ~user/x `pwd`/y 2>&1 >out.txt # ./not-run");
  EXPECT_EQ(Texts(words, true), (std::vector<std::string>{"sed"}));
  EXPECT_EQ(Texts(words, false), (std::vector<std::string>{"-i"})) << "a redirection's file is the shell's to open";
}

TEST(LiteralWordsTest, KeywordsLeadToPrograms) {
  auto words = LiteralWords("if ./check.sh; then ./fix.sh; else exit 1; fi; (cd sub && ./x)");
  EXPECT_EQ(Texts(words, true), (std::vector<std::string>{"if", "./check.sh", "then", "./fix.sh", "else", "exit",
                                                          "fi", "cd", "./x"}));
}

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("command-files-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    for (const char* d : {"repo", "home/bin", "home/.ssh", "cwd", "bin", "userbin"}) fs::create_directories(dir_ / d);
    view_.repo_root = (dir_ / "repo").string();
    view_.cwd = (dir_ / "cwd").string();
    view_.home = (dir_ / "home").string();
    view_.hidden = {view_.repo_root, view_.home, view_.cwd};
    view_.secrets = {(dir_ / "home/.ssh").string()};
    view_.path = {(dir_ / "bin").string()};
    view_.host_path = {(dir_ / "userbin").string()};
    view_.in_base = [](const std::string& rel) { return rel == "committed.sh"; };
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& rel, bool executable = true) {
    std::string path = (dir_ / rel).string();
    std::ofstream(path) << "#!/bin/sh\n";
    chmod(path.c_str(), executable ? 0755 : 0644);
    return path;
  }

  fs::path dir_;
  SandboxView view_;
};

TEST_F(ResolveTest, AnUncommittedScriptInTheWorkTreeIsShownAtThePathTheCommandUses) {
  std::string script = Write("repo/do-subtask.sh");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("./do-subtask.sh --fast", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u);
  EXPECT_EQ(files->binds[0].source, fs::canonical(script).string());
  EXPECT_EQ(files->binds[0].dest, "do-subtask.sh");
}

TEST_F(ResolveTest, AScriptBesideTheUserIsFoundToo) {
  Write("cwd/agent.sh");
  Write("bin/sh");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("sh agent.sh", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u);
  EXPECT_EQ(files->binds[0].dest, "agent.sh");
}

TEST_F(ResolveTest, ACommittedScriptNeedsNothing) {
  Write("repo/committed.sh");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("./committed.sh", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->binds.empty());
}

TEST_F(ResolveTest, TheWorkTreesCopyOfACommittedFileIsNotShown) {
  Write("bin/cat");
  Write("repo/committed.sh");
  std::string untracked = Write("repo/notes.txt");
  absl::StatusOr<AgentCommandFiles> files =
      ResolveAgentCommand("cat " + view_.repo_root + "/committed.sh " + untracked, view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u) << "the agent has the committed file in its workspace";
  EXPECT_EQ(files->binds[0].dest, untracked);
}

TEST_F(ResolveTest, AFileUnderTheHiddenHomeIsShownAloneAtItsPath) {
  Write("bin/python3");
  std::string agent = Write("home/bin/agent.py", false);
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("python3 ~/bin/agent.py", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u);
  EXPECT_EQ(files->binds[0].dest, agent);
}

TEST_F(ResolveTest, ASecretIsNeverShown) {
  Write("home/.ssh/id_ed25519", false);
  Write("bin/sh");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("sh ~/.ssh/id_ed25519", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->binds.empty());
  ASSERT_EQ(files->warnings.size(), 1u);
  EXPECT_NE(files->warnings[0].find("holds secrets"), std::string::npos) << files->warnings[0];
  Write("home/.ssh/run.sh");
  EXPECT_FALSE(ResolveAgentCommand("~/.ssh/run.sh", view_).ok());
}

TEST_F(ResolveTest, AProgramOnlyOnTheUsersPathIsRefusedSayingWhatToDo) {
  Write("userbin/claude");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("claude -p hi", view_);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("is not on the sandbox's PATH"), std::string::npos) << files.status();
  EXPECT_NE(files.status().message().find("--sandbox-ro-bind"), std::string::npos) << files.status();
}

TEST_F(ResolveTest, AProgramThatIsNowhereIsRefused) {
  Write("repo/do-subtask.sh");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("do-subtask.sh", view_);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("write ./do-subtask.sh"), std::string::npos) << files.status();
  files = ResolveAgentCommand("./missing.sh", view_);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("neither in the base commit"), std::string::npos) << files.status();
  EXPECT_FALSE(ResolveAgentCommand("../outside.sh", view_).ok());
}

TEST_F(ResolveTest, AClientsRunGetsNoBindsAndIsToldWhy) {
  Write("repo/do-subtask.sh");
  view_.bind = false;
  view_.cwd.clear();
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("./do-subtask.sh", view_);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("--allow-ro-bind"), std::string::npos) << files.status();
}

TEST_F(ResolveTest, OnlyTheFirstProgramMustResolve) {
  // A case pattern reads like a program; what comes after the first program only gets its files.
  Write("repo/later.sh");
  absl::StatusOr<AgentCommandFiles> files =
      ResolveAgentCommand("case $SWARM_SUBTASK_ID in x1) echo one;; x2) ./later.sh;; esac", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u);
  EXPECT_EQ(files->binds[0].dest, "later.sh");
}

TEST_F(ResolveTest, OnlyScriptsAreShownNotTheFilesACommandReadsOrWrites) {
  Write("repo/agent.sh");
  Write("repo/out.txt", false);  // left over from the user's own trial run
  Write("repo/log.txt", false);
  Write("repo/input.json", false);
  Write("bin/tee");
  Write("bin/python3");
  Write("repo/tool.py", false);
  absl::StatusOr<AgentCommandFiles> files =
      ResolveAgentCommand("./agent.sh input.json > out.txt | tee log.txt; python3 -u tool.py input.json", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  std::vector<std::string> dests;
  for (const auto& b : files->binds) dests.push_back(b.dest);
  EXPECT_EQ(dests, (std::vector<std::string>{"agent.sh", "tool.py"}));
}

TEST_F(ResolveTest, TheFirstRealProgramMustResolvePastTheShellsOwnWords) {
  for (const char* command : {"set -e; ./nope.sh", "exec ./nope.sh", "env FOO=1 -u BAR ./nope.sh", "nohup ./nope.sh"}) {
    EXPECT_FALSE(ResolveAgentCommand(command, view_).ok()) << command;
  }
  EXPECT_TRUE(ResolveAgentCommand("f() { echo hi; }; f", view_).ok()) << "a function the command defines";
}

TEST_F(ResolveTest, ACdAndAShellsScriptAreFollowed) {
  fs::create_directories(dir_ / "repo/sub");
  Write("repo/sub/x.sh");
  Write("repo/inner.sh");
  Write("bin/bash");
  absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand("cd sub && ./x.sh", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u);
  EXPECT_EQ(files->binds[0].dest, "sub/x.sh");
  files = ResolveAgentCommand("bash -lc './inner.sh --go'", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->binds.size(), 1u);
  EXPECT_EQ(files->binds[0].dest, "inner.sh");
  EXPECT_FALSE(ResolveAgentCommand("./.git/hooks/x", view_).ok()) << "the workspace's .git is its own";
}

TEST_F(ResolveTest, BuiltinsAndArgumentsThatNameNoFileAreLeftAlone) {
  absl::StatusOr<AgentCommandFiles> files =
      ResolveAgentCommand("cd src && echo done > /dev/null; true x/y.c", view_);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->binds.empty());
}

}  // namespace
}  // namespace swarm
