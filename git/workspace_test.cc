#include "git/workspace.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::CommitAll;
using ::swarm::testing::InitRepo;
using ::swarm::testing::ReadFile;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(dir_ / "repo");
    WriteFile(dir_ / "repo/a.txt", "a\n");
    WriteFile(dir_ / "repo/sub/b.txt", "b\n");
    WriteFile(dir_ / "repo/gone.txt", "gone\n");
    WriteFile(dir_ / "repo/run.sh", "#!/bin/sh\n");
    WriteFile(dir_ / "repo/.gitignore", "*.o\n");
    CommitAll(dir_ / "repo", "base");
    base_ = swarm::testing::Sh("git -C " + (dir_ / "repo") + " rev-parse HEAD");
    base_.pop_back();
  }
  std::unique_ptr<Workspace> Make() {
    auto ws = Workspace::Create(dir_ / "repo/.git", base_, dir_ / "ws", false);
    EXPECT_TRUE(ws.ok()) << ws.status();
    return ws.ok() ? std::move(*ws) : nullptr;
  }
  std::string Files(const Patch& p) {
    return Sh("git -C " + (dir_ / "repo") + " diff --name-status " + base_ + " " + p.tree + " 2>/dev/null || true");
  }

  TempDir dir_;
  std::string base_;
};

TEST_F(WorkspaceTest, UntouchedWorkspaceIsAnEmptyPatch) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ReadFile(ws->root() + "/a.txt"), "a\n");
  absl::StatusOr<Patch> p = ws->ComputePatch();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->empty);
  EXPECT_TRUE(p->diff.empty());
}

TEST_F(WorkspaceTest, PatchHasEditsAdditionsDeletionsModesButNotIgnoredFiles) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  WriteFile(ws->root() + "/a.txt", "A\n");
  WriteFile(ws->root() + "/new/c.txt", "c\n");
  WriteFile(ws->root() + "/build.o", "object");
  std::filesystem::remove(ws->root() + "/gone.txt");
  Sh("chmod +x " + ws->root() + "/run.sh");
  absl::StatusOr<Patch> p = ws->ComputePatch();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->empty);
  EXPECT_NE(p->diff.find("+A"), std::string::npos);
  EXPECT_NE(p->diff.find("new/c.txt"), std::string::npos);
  EXPECT_NE(p->diff.find("deleted file mode"), std::string::npos);
  EXPECT_NE(p->diff.find("new mode 100755"), std::string::npos);
  EXPECT_EQ(p->diff.find("build.o"), std::string::npos);
}

TEST_F(WorkspaceTest, AgentCommitsAndIndexAreIgnoredOnlyFilesCount) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  WriteFile(ws->root() + "/a.txt", "committed\n");
  Sh("cd " + ws->root() + " && git -c user.name=x -c user.email=x@x commit -qam agent");
  WriteFile(ws->root() + "/staged.txt", "s\n");
  Sh("cd " + ws->root() + " && git add staged.txt && git rm -q --cached sub/b.txt");
  absl::StatusOr<Patch> p = ws->ComputePatch();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NE(p->diff.find("+committed"), std::string::npos);
  EXPECT_NE(p->diff.find("staged.txt"), std::string::npos);
  EXPECT_EQ(p->diff.find("sub/b.txt"), std::string::npos) << "unstaged in the agent's index, still on disk";
}

TEST_F(WorkspaceTest, SymlinkInsideIsKeptSymlinkOutsideIsRefused) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  Sh("cd " + ws->root() + " && ln -s ../a.txt sub/link");
  absl::StatusOr<Patch> p = ws->ComputePatch();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NE(p->diff.find("new file mode 120000"), std::string::npos);
  Sh("cd " + ws->root() + " && ln -s ../../etc/passwd sub/escape");
  p = ws->ComputePatch();
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("sub/escape"), std::string::npos) << p.status();
}

TEST_F(WorkspaceTest, SymlinkClimbingThroughAnotherSymlinkIsRefused) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  // Lexically q/q/q/../../../.. stays inside; through the link q it reaches far outside.
  Sh("cd " + ws->root() + " && ln -s . q && ln -s q/q/q/../../../../../../../../etc/passwd p");
  absl::StatusOr<Patch> p = ws->ComputePatch();
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
  EXPECT_NE(p.status().message().find(" p -> "), std::string::npos) << p.status();
}

TEST_F(WorkspaceTest, AbsoluteSymlinkIsRefused) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  Sh("cd " + ws->root() + " && ln -s /etc/passwd pw");
  EXPECT_EQ(ws->ComputePatch().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WorkspaceTest, RemovedOnDestructionUnlessKept) {
  { auto ws = Make(); }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ws"));
  {
    auto ws = Workspace::Create(dir_ / "repo/.git", base_, dir_ / "kept", true);
    ASSERT_TRUE(ws.ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "kept/work/a.txt"));
}

TEST(SymlinkStaysInsideTest, Cases) {
  EXPECT_TRUE(SymlinkStaysInside("a/link", "../b"));
  EXPECT_FALSE(SymlinkStaysInside("a/link", "./c/../d")) << "c might be a link";
  EXPECT_TRUE(SymlinkStaysInside("a/b/link", "../../c/d"));
  EXPECT_FALSE(SymlinkStaysInside("link", "../x"));
  EXPECT_FALSE(SymlinkStaysInside("a/b/link", "../../../x"));
  EXPECT_FALSE(SymlinkStaysInside("a/link", "/etc"));
  EXPECT_FALSE(SymlinkStaysInside("p", "q/q/../../x"));
  EXPECT_TRUE(SymlinkStaysInside("p", "q"));  // a link to a link that is itself checked
}

TEST(SymlinkStaysInsideTest, LinksIntoGitAreRefused) {
  EXPECT_FALSE(SymlinkStaysInside("gitlink", ".git"));
  EXPECT_FALSE(SymlinkStaysInside("a/b", "../.git"));
  EXPECT_FALSE(SymlinkStaysInside("x", ".git/hooks"));
  EXPECT_FALSE(SymlinkStaysInside("x", "./.GIT/config"));
  EXPECT_TRUE(SymlinkStaysInside("x", ".github/workflows")) << "only the component .git itself";
  EXPECT_TRUE(SymlinkStaysInside("x", "a.git"));
}

TEST_F(WorkspaceTest, SymlinkToGitIsRefused) {
  auto ws = Make();
  ASSERT_NE(ws, nullptr);
  Sh("cd " + ws->root() + " && ln -s .git gitlink");
  absl::StatusOr<Patch> p = ws->ComputePatch();
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
  EXPECT_NE(p.status().message().find("gitlink -> .git"), std::string::npos) << p.status();
}

}  // namespace
}  // namespace swarm
