// Findings 12, 13 (part) and 15: patches that act later, elsewhere (CI files, git's in-tree config),
// symlinks into .git, a host that skips its own checks, and escape sequences in names an agent chose.
#include <gtest/gtest.h>

#include <filesystem>

#include "orchestrator/run/path_policy.h"
#include "git/git.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

class PatchAttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/a.c", "int a;\n");
    CommitAll(repo(), "base");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  std::string Branch() {
    return Trim(Sh("git -C " + repo() + " for-each-ref --format='%(refname:short)' refs/heads/swarm/"));
  }
  // A run of one subtask "s" whose agent runs `agent`.
  CliResult RunAgent(const std::string& agent, std::vector<std::string> extra = {},
                     const std::string& title = "T") {
    WriteFile(dir_ / "plan.json",
              R"({"subtasks": [{"id": "s", "title": ")" + title + R"(", "instructions": "x"}]})");
    std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                                     "--agent-cmd", agent, "--test-cmd", "true", "--max-attempts", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSwarm(args);
  }
  nlohmann::json Subtask(const nlohmann::json& report) {
    for (const auto& s : report["subtasks"]) {
      if (s["id"] == "s") return s;
    }
    return {};
  }

  TempDir dir_;
};

TEST_F(PatchAttacksTest, WorkflowFileIsRefusedWithTheReasonInTheReport) {
  CliResult r = RunAgent("mkdir -p .github/workflows && printf 'on: push\\n' > .github/workflows/x.yml");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json s = Subtask(OnlyReport(state()));
  EXPECT_NE(s["outcome"], "landed") << s.dump();
  std::string reason = s["reason"].get<std::string>();
  EXPECT_NE(reason.find(".github/workflows/x.yml"), std::string::npos) << reason;
  EXPECT_NE(reason.find("--allow-path"), std::string::npos) << reason;
  EXPECT_EQ(Branch(), "") << "nothing landed, so no branch";
}

TEST_F(PatchAttacksTest, GitattributesFilterIsRefused) {
  CliResult r = RunAgent("printf '* filter=evil\\n' > .gitattributes");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(Subtask(OnlyReport(state()))["reason"].get<std::string>().find(".gitattributes"), std::string::npos);
}

TEST_F(PatchAttacksTest, WorkflowFileLandsWhenTheUserAllowsIt) {
  CliResult r = RunAgent("mkdir -p .github/workflows && printf 'on: push\\n' > .github/workflows/x.yml",
                         {"--allow-path", ".github/**"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Trim(Sh("git -C " + repo() + " show " + Branch() + ":.github/workflows/x.yml")), "on: push");
}

TEST_F(PatchAttacksTest, SymlinkToGitIsRefused) {
  CliResult r = RunAgent("ln -s .git gitlink && mkdir -p a && ln -s ../.git a/b");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  std::string reason = Subtask(OnlyReport(state()))["reason"].get<std::string>();
  EXPECT_NE(reason.find("-> "), std::string::npos) << reason;
  EXPECT_NE(reason.find(".git"), std::string::npos) << reason;
  EXPECT_EQ(Branch(), "");
}

// What the coordinator checks itself, on the tree a patch produces, whatever the host did: trees made
// with git plumbing, as a host that skipped Workspace::ComputePatch could submit them.
class CoordinatorRecheckTest : public PatchAttacksTest {
 protected:
  // The tree of the base with one more entry.
  std::string TreeWith(const std::string& mode, const std::string& object, const std::string& path) {
    std::string env = "GIT_INDEX_FILE=" + (dir_ / "attack.index") + " ";
    Sh(env + "git -C " + repo() + " read-tree HEAD");
    Sh(env + "git -C " + repo() + " update-index --add --cacheinfo " + mode + "," + object + "," + path);
    return Trim(Sh(env + "git -C " + repo() + " write-tree"));
  }
  absl::Status Check(const std::string& tree, std::vector<std::string> allowed = {}) {
    return CheckSubmittedPatch(Git::AtGitDir(repo() + "/.git"), Trim(Sh("git -C " + repo() + " rev-parse HEAD")),
                               tree, PathPolicy(std::move(allowed)));
  }
  std::string Blob(const std::string& content) {
    return Trim(Sh("printf '%s' '" + content + "' | git -C " + repo() + " hash-object -w --stdin"));
  }
};

TEST_F(CoordinatorRecheckTest, SymlinkIntoGitIsRefused) {
  absl::Status st = Check(TreeWith("120000", Blob(".git/hooks"), "x"));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("x -> .git/hooks"), std::string::npos) << st;
}

TEST_F(CoordinatorRecheckTest, EscapingSymlinkIsRefused) {
  EXPECT_EQ(Check(TreeWith("120000", Blob("../../etc/passwd"), "p")).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CoordinatorRecheckTest, GitlinkIsRefused) {
  std::string commit = Trim(Sh("git -C " + repo() + " rev-parse HEAD"));
  absl::Status st = Check(TreeWith("160000", commit, "vendor/sub"));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("vendor/sub"), std::string::npos) << st;
}

TEST_F(CoordinatorRecheckTest, PathInsideAGitDirectoryIsRefused) {
  // git's index refuses such a path; mktree writes the trees as a forged submission would carry them.
  std::string git = "git -C " + repo() + " ";
  auto mktree = [&](const std::string& entry) { return Trim(Sh("printf '" + entry + "\\n' | " + git + "mktree")); };
  std::string hooks = mktree("100755 blob " + Blob("#!/bin/sh") + "\\tpost-checkout");
  std::string dot_git = mktree("040000 tree " + hooks + "\\thooks");
  std::string foo = mktree("040000 tree " + dot_git + "\\t.git");
  std::string root = Trim(Sh(git + "ls-tree HEAD | { cat; printf '040000 tree " + foo + "\\tfoo\\n'; } | " + git + "mktree"));
  absl::Status st = Check(root);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("foo/.git/hooks/post-checkout"), std::string::npos) << st;
}

TEST_F(CoordinatorRecheckTest, ProtectedPathIsRefusedUnlessAllowed) {
  std::string tree = TreeWith("100644", Blob("on: push"), ".github/workflows/x.yml");
  EXPECT_EQ(Check(tree).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Check(tree, {".github/**"}).ok());
  EXPECT_TRUE(Check(TreeWith("100644", Blob("int b;"), "b.c")).ok());
}

TEST_F(CoordinatorRecheckTest, LinkWhereAProtectedFolderGoesIsRefused) {
  std::string tree = TreeWith("120000", Blob("ci"), ".github");
  absl::Status st = Check(tree);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_NE(st.message().find("link at .github"), std::string::npos) << st;
  EXPECT_TRUE(Check(tree, {".github/**"}).ok());
  EXPECT_TRUE(Check(TreeWith("120000", Blob("a.c"), "lib")).ok()) << "an ordinary link passes";
}

TEST_F(CoordinatorRecheckTest, CodeownersIsProtected) {
  EXPECT_EQ(Check(TreeWith("100644", Blob("* @attacker"), ".github/CODEOWNERS")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Check(TreeWith("100644", Blob("* @attacker"), "CODEOWNERS")).code(), absl::StatusCode::kPermissionDenied);
}

// Finding 15: a file name holding an OSC sequence that sets the terminal's title (and a title from the
// plan holding one), shown by `swarm run` and `swarm show` as visible escapes.
TEST_F(PatchAttacksTest, EscapeSequencesInNamesAreShownEscaped) {
  // In a protected folder, so that the refusal's reason names the file.
  CliResult r = RunAgent("mkdir -p .github/workflows && touch \"$(printf '.github/workflows/\\033]0;pwned\\007.yml')\"",
                         {}, "title \\u001b[31mred");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  std::string all = r.out + r.err;
  EXPECT_EQ(all.find('\x1b'), std::string::npos) << "an ESC reached the terminal: " << all;
  EXPECT_EQ(all.find('\x07'), std::string::npos) << all;
  EXPECT_NE(all.find("\\x1b]0;pwned\\x07.yml"), std::string::npos) << all;
  EXPECT_NE(all.find("title \\x1b[31mred"), std::string::npos) << all;

  std::string run_id = OnlyReport(state())["run_id"].get<std::string>();
  CliResult show = RunSwarm({"show", run_id, "--state-dir", state()});
  ASSERT_EQ(show.exit_code, 0) << show.out << show.err;
  EXPECT_EQ(show.out.find('\x1b'), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\\x1b]0;pwned\\x07.yml"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("title \\x1b[31mred"), std::string::npos) << show.out;
  CliResult queue = RunSwarm({"show", run_id, "--state-dir", state(), "--queue"});
  EXPECT_EQ(queue.out.find('\x1b'), std::string::npos) << queue.out;
}

}  // namespace
}  // namespace swarm::testing
