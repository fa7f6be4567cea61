#include "orchestrator/run/run_result.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::CommitAll;
using ::swarm::testing::ReadFile;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;
using ::swarm::testing::Trim;

class RunResultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    user_dir_ = dir_ / "user";
    Sh("git init -q " + user_dir_ + " && printf 'a\\n' > " + user_dir_ + "/a.txt");
    CommitAll(user_dir_, "base");
    base_ = Trim(Sh("git -C " + user_dir_ + " rev-parse HEAD"));
    absl::StatusOr<Git> user = Git::Open(user_dir_);
    ASSERT_TRUE(user.ok()) << user.status();
    user_.emplace(std::move(*user));
    absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo =
        IntegrationRepo::Create(*user_, dir_ / "integration.git", base_);
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::move(*repo);
  }
  // Lands a commit that changes a.txt, as the merge queue would.
  std::string Land() {
    std::string blob = Trim(Sh("printf 'a landed\\n' | git -C " + user_dir_ + " hash-object -w --stdin"));
    std::string tree = Trim(Sh("printf '100644 blob " + blob + "\\ta.txt\\n' | git -C " + user_dir_ + " mktree"));
    absl::StatusOr<std::string> commit = repo_->CommitTree(tree, base_, "a (a)\n");
    EXPECT_TRUE(commit.ok()) << commit.status();
    EXPECT_TRUE(repo_->CompareAndSwap(*commit, base_).ok());
    return *commit;
  }

  TempDir dir_;
  std::string user_dir_, base_;
  std::optional<Git> user_;
  std::unique_ptr<IntegrationRepo> repo_;
};

TEST_F(RunResultTest, WhatLandedIsPublishedAsTheRunsBranchWithItsPatch) {
  std::string head = Land();
  RunResult result = PublishRunResult(*repo_, *user_, "swarm/r1", base_, dir_.path(), false);
  EXPECT_EQ(result.head, head);
  EXPECT_EQ(result.branch, "swarm/r1");
  EXPECT_EQ(result.publish_error, "");
  EXPECT_EQ(Trim(Sh("git -C " + user_dir_ + " rev-parse swarm/r1")), head);
  EXPECT_EQ(result.patch_path, dir_ / "result.patch");
  EXPECT_NE(ReadFile(result.patch_path).find("+a landed"), std::string::npos);
  EXPECT_EQ(result.patch_error, "");
}

TEST_F(RunResultTest, NothingLandedMeansNoBranchAndAnEmptyPatch) {
  RunResult result = PublishRunResult(*repo_, *user_, "swarm/r1", base_, dir_.path(), false);
  EXPECT_EQ(result.head, base_);
  EXPECT_EQ(result.branch, "");
  EXPECT_EQ(ReadFile(result.patch_path), "");
  EXPECT_EQ(Sh("git -C " + user_dir_ + " branch --list 'swarm/*'").find("swarm/r1"), std::string::npos);
}

TEST_F(RunResultTest, ABranchThatMovedElsewhereIsNotOverwrittenAndTheReasonIsKept) {
  Land();
  Sh("git -C " + user_dir_ + " branch swarm/r1 " + base_ + " && cd " + user_dir_ +
     " && git checkout -q swarm/r1 && printf 'b\\n' > b.txt");
  CommitAll(user_dir_, "work of the user on the branch");
  RunResult result = PublishRunResult(*repo_, *user_, "swarm/r1", base_, dir_.path(), /*move_forward=*/false);
  EXPECT_EQ(result.branch, "");
  EXPECT_NE(result.publish_error, "");
  EXPECT_NE(ReadFile(result.patch_path).find("+a landed"), std::string::npos) << "the patch is written anyway";
}

TEST_F(RunResultTest, AFullDiskIsReported) {
  Land();
  RunResult result = PublishRunResult(*repo_, *user_, "swarm/r1", base_, "/nonexistent-dir", false);
  EXPECT_NE(result.patch_error.find("/nonexistent-dir/result.patch"), std::string::npos) << result.patch_error;
}

}  // namespace
}  // namespace swarm
