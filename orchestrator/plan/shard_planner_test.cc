#include "orchestrator/plan/shard_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::CommitAll;
using ::swarm::testing::InitRepo;
using ::swarm::testing::ReadFile;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Files = std::vector<std::string>;

// Git run by the tests themselves: no user config, a fixed identity.
constexpr char kGit[] =
    "GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t "
    "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t git";

Files FilesOf(const v1::Subtask& s) { return {s.files().begin(), s.files().end()}; }

std::vector<Files> ShardFiles(const Plan& plan) {
  std::vector<Files> out;
  for (const auto& s : plan.subtasks) out.push_back(FilesOf(s));
  return out;
}

class ShardPlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo_);
    for (const char* f : {"a.c", "b.c", "Z.c", "lib/c.c", "lib/deep/d.c", "e.h", "README"}) {
      WriteFile(repo_ + "/" + f, std::string(f) + "\n");
    }
    CommitAll(repo_, "base");
    absl::StatusOr<Git> git = Git::Open(repo_);
    ASSERT_TRUE(git.ok()) << git.status();
    git_ = *git;
    base_ = Head();
  }

  std::string Head() {
    absl::StatusOr<std::string> head = git_->ResolveCommit("HEAD");
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *head : "";
  }

  absl::StatusOr<Plan> Shard(const std::string& glob, int parts, bool independent = false,
                             const std::string& base = "") {
    return MakeShardPlan(*git_, base.empty() ? base_ : base,
                         ShardOptions{.glob = glob, .parts = parts, .independent = independent}, &warnings_);
  }

  // What a user would see of their checkout: staged changes, status, and the index file itself.
  std::string UserState() {
    return Sh("cd " + repo_ + " && " + kGit + " diff --cached --name-only && " + kGit + " status --porcelain") +
           ReadFile(repo_ + "/.git/index");
  }

  TempDir dir_;
  std::string repo_ = dir_ / "repo";
  std::optional<Git> git_;
  std::string base_;
  std::vector<std::string> warnings_;
};

TEST(CheckShardGlobTest, GlobsLeavingTheRepositoryAreRefused) {
  for (const std::string glob : {"../*", "/etc/*", "a/../../x", ".git/*", "src/.git/**", ":(top)*", ":/x", "a\x1b"}) {
    absl::Status st = CheckShardGlob(glob);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << glob;
    EXPECT_THAT(std::string(st.message()), HasSubstr("--shard '")) << st;
  }
  EXPECT_THAT(std::string(CheckShardGlob("../*").message()), HasSubstr("inside the repository"));
  for (const std::string glob : {"*.c", "src/**/*.py", "./a/*", ".github/*.md"}) EXPECT_TRUE(CheckShardGlob(glob).ok()) << glob;
}

TEST_F(ShardPlannerTest, GlobMatchesAtAnyDepthInBytewiseOrder) {
  absl::StatusOr<Plan> plan = Shard("*.c", 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->subtasks.size(), 1u);
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("Z.c", "a.c", "b.c", "lib/c.c", "lib/deep/d.c"));
  EXPECT_THAT(warnings_, IsEmpty());

  plan = Shard("lib/*", 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("lib/c.c", "lib/deep/d.c"));

  plan = Shard("README", 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("README"));
}

TEST_F(ShardPlannerTest, OrderIsBytewiseNotByDirectory) {
  // '-' < '.' < '/' bytewise, so lib-x.c and lib.c come before lib/c.c.
  WriteFile(repo_ + "/lib.c", "x\n");
  WriteFile(repo_ + "/lib-x.c", "x\n");
  CommitAll(repo_, "more");
  absl::StatusOr<Plan> plan = Shard("*.c", 1, false, Head());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(FilesOf(plan->subtasks[0]),
              ElementsAre("Z.c", "a.c", "b.c", "lib-x.c", "lib.c", "lib/c.c", "lib/deep/d.c"));
}

TEST_F(ShardPlannerTest, ContiguousChunksBalancedByCount) {
  absl::StatusOr<Plan> plan = Shard("*.c", 2);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(ShardFiles(*plan),
              ElementsAre(Files{"Z.c", "a.c", "b.c"}, Files{"lib/c.c", "lib/deep/d.c"}));
  ASSERT_EQ(plan->subtasks.size(), 2u);
  EXPECT_EQ(plan->subtasks[0].id(), "shard-1");
  EXPECT_EQ(plan->subtasks[1].id(), "shard-2");
  EXPECT_THAT(plan->subtasks[0].title(), HasSubstr("*.c"));
  EXPECT_THAT(plan->subtasks[1].title(), HasSubstr("2 of 2"));
  EXPECT_THAT(plan->subtasks[0].instructions(), HasSubstr("3 files"));

  plan = Shard("*.c", 3);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(ShardFiles(*plan),
              ElementsAre(Files{"Z.c", "a.c"}, Files{"b.c", "lib/c.c"}, Files{"lib/deep/d.c"}));
  EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ShardPlannerTest, ShardsFormOneAtomicGroupThatValidates) {
  absl::StatusOr<Plan> plan = Shard("*.c", 2);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const auto& s : plan->subtasks) EXPECT_EQ(s.group(), kShardGroup) << s.id();
  ASSERT_EQ(plan->groups.size(), 1u);
  ASSERT_EQ(plan->groups.count(kShardGroup), 1u);
  EXPECT_FALSE(plan->groups.at(kShardGroup).partial);
  absl::Status valid = ValidatePlan(*plan, "--shard");
  ASSERT_TRUE(valid.ok()) << valid;
  EXPECT_THAT(plan->groups.at(kShardGroup).members, ElementsAre("shard-1", "shard-2"));
}

TEST_F(ShardPlannerTest, IndependentShardsHaveNoGroup) {
  absl::StatusOr<Plan> plan = Shard("*.c", 2, /*independent=*/true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->subtasks.size(), 2u);
  for (const auto& s : plan->subtasks) EXPECT_EQ(s.group(), "") << s.id();
  EXPECT_THAT(plan->groups, IsEmpty());
  absl::Status valid = ValidatePlan(*plan, "--shard");
  EXPECT_TRUE(valid.ok()) << valid;
  EXPECT_THAT(plan->groups, IsEmpty());
}

TEST_F(ShardPlannerTest, MorePartsThanFilesGivesOneShardPerFileAndAWarning) {
  absl::StatusOr<Plan> plan = Shard("*.c", 8);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(ShardFiles(*plan), ElementsAre(Files{"Z.c"}, Files{"a.c"}, Files{"b.c"}, Files{"lib/c.c"},
                                             Files{"lib/deep/d.c"}));
  EXPECT_EQ(plan->subtasks.back().id(), "shard-5");
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0], HasSubstr("8"));
  EXPECT_THAT(warnings_[0], HasSubstr("5"));

  // The warning is optional for the caller.
  plan = MakeShardPlan(*git_, base_, ShardOptions{.glob = "*.c", .parts = 8}, nullptr);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->subtasks.size(), 5u);
}

TEST_F(ShardPlannerTest, AsManyPartsAsFilesIsNoWarning) {
  absl::StatusOr<Plan> plan = Shard("*.c", 5);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->subtasks.size(), 5u);
  EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ShardPlannerTest, IdsArePaddedSoTheySortInOrder) {
  for (int i = 0; i < 12; ++i) WriteFile(absl::StrFormat("%s/gen/f%02d.c", repo_, i), "x\n");
  CommitAll(repo_, "generated");
  absl::StatusOr<Plan> plan = Shard("gen/*.c", 10, false, Head());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->subtasks.size(), 10u);
  EXPECT_EQ(plan->subtasks[0].id(), "shard-01");
  EXPECT_EQ(plan->subtasks[9].id(), "shard-10");
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("gen/f00.c", "gen/f01.c"));
  EXPECT_THAT(FilesOf(plan->subtasks[1]), ElementsAre("gen/f02.c", "gen/f03.c"));
  EXPECT_THAT(FilesOf(plan->subtasks[2]), ElementsAre("gen/f04.c"));
  EXPECT_THAT(FilesOf(plan->subtasks[9]), ElementsAre("gen/f11.c"));
}

TEST_F(ShardPlannerTest, NonPositivePartsIsInvalidArgument) {
  for (int parts : {0, -3}) {
    absl::StatusOr<Plan> plan = Shard("*.c", parts);
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
    EXPECT_THAT(plan.status().message(), HasSubstr("--parts"));
  }
}

TEST_F(ShardPlannerTest, GlobMatchingNothingIsNamed) {
  absl::StatusOr<Plan> plan = Shard("*.rs", 2);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("'*.rs' matches no tracked file"));
  plan = Shard("", 2);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
}

TEST_F(ShardPlannerTest, LfsFileIsRefusedByName) {
  WriteFile(repo_ + "/.gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n");
  WriteFile(repo_ + "/assets/big.bin", "version https://git-lfs.github.com/spec/v1\n");
  WriteFile(repo_ + "/assets/small.txt", "x\n");
  CommitAll(repo_, "lfs");
  std::string head = Head();
  absl::StatusOr<Plan> plan = Shard("assets/*", 2, false, head);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("assets/big.bin"));
  EXPECT_THAT(plan.status().message(), HasSubstr("LFS"));
  // Files the attribute does not cover are fine.
  plan = Shard("*.c", 2, false, head);
  EXPECT_TRUE(plan.ok()) << plan.status();
}

TEST_F(ShardPlannerTest, LfsAttributesAreReadFromTheBase) {
  // Marked in the work tree only: the base has no LFS files.
  WriteFile(repo_ + "/.gitattributes", "*.c filter=lfs\n");
  absl::StatusOr<Plan> plan = Shard("*.c", 2);
  EXPECT_TRUE(plan.ok()) << plan.status();
  // Marked at the base, unmarked in the work tree: still refused.
  CommitAll(repo_, "lfs");
  std::string head = Head();
  std::filesystem::remove(repo_ + "/.gitattributes");
  plan = Shard("*.c", 2, false, head);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("LFS"));
}

TEST_F(ShardPlannerTest, SubmoduleIsRefusedByName) {
  Sh("cd " + repo_ + " && " + kGit + " update-index --add --cacheinfo 160000," + base_ + ",vendor/dep && " + kGit +
     " commit -qm submodule");
  absl::StatusOr<Plan> plan = Shard("vendor/*", 1, false, Head());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("vendor/dep"));
  EXPECT_THAT(plan.status().message(), HasSubstr("submodule"));
}

TEST_F(ShardPlannerTest, UserIndexAndWorkTreeAreUntouched) {
  WriteFile(repo_ + "/a.c", "staged edit\n");
  WriteFile(repo_ + "/b.c", "unstaged edit\n");
  WriteFile(repo_ + "/new.c", "untracked\n");
  Sh("cd " + repo_ + " && " + kGit + " add a.c");
  std::string before = UserState();
  ASSERT_THAT(before, HasSubstr("a.c\n")) << "a.c is staged";

  absl::StatusOr<Plan> plan = Shard("*.c", 2);
  ASSERT_TRUE(plan.ok()) << plan.status();

  EXPECT_EQ(UserState(), before);
  EXPECT_EQ(Sh("cd " + repo_ + " && " + kGit + " diff --cached --name-only"), "a.c\n");
  EXPECT_EQ(ReadFile(repo_ + "/a.c"), "staged edit\n");
  EXPECT_EQ(ReadFile(repo_ + "/b.c"), "unstaged edit\n");
  EXPECT_EQ(ReadFile(repo_ + "/new.c"), "untracked\n");
}

TEST_F(ShardPlannerTest, FilesComeFromTheBaseNotTheWorkTreeOrIndex) {
  std::filesystem::remove(repo_ + "/lib/c.c");
  WriteFile(repo_ + "/new.c", "untracked\n");
  WriteFile(repo_ + "/staged.c", "staged\n");
  Sh("cd " + repo_ + " && " + kGit + " add staged.c");
  absl::StatusOr<Plan> plan = Shard("*.c", 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("Z.c", "a.c", "b.c", "lib/c.c", "lib/deep/d.c"));
}

TEST_F(ShardPlannerTest, EachBaseListsItsOwnFiles) {
  std::string old_base = base_;
  std::filesystem::remove(repo_ + "/a.c");
  WriteFile(repo_ + "/later.c", "later\n");
  CommitAll(repo_, "next");
  std::string new_base = Head();

  absl::StatusOr<Plan> plan = Shard("*.c", 1, false, old_base);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("Z.c", "a.c", "b.c", "lib/c.c", "lib/deep/d.c"));

  plan = Shard("*.c", 1, false, new_base);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(FilesOf(plan->subtasks[0]), ElementsAre("Z.c", "b.c", "later.c", "lib/c.c", "lib/deep/d.c"));
}

TEST_F(ShardPlannerTest, WorksOnABareRepository) {
  std::string bare = dir_ / "bare.git";
  Sh(std::string(kGit) + " clone -q --bare " + repo_ + " " + bare);
  absl::StatusOr<Git> git = Git::Open(bare);
  ASSERT_TRUE(git.ok()) << git.status();
  absl::StatusOr<Plan> plan = MakeShardPlan(*git, base_, ShardOptions{.glob = "*.c", .parts = 2}, nullptr);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(ShardFiles(*plan),
              ElementsAre(Files{"Z.c", "a.c", "b.c"}, Files{"lib/c.c", "lib/deep/d.c"}));
}

TEST(SplitEvenlyTest, ExactChunks) {
  EXPECT_THAT(SplitEvenly({"a", "b", "c", "d", "e"}, 2), ElementsAre(Files{"a", "b", "c"}, Files{"d", "e"}));
  EXPECT_THAT(SplitEvenly({"a", "b", "c", "d", "e", "f", "g"}, 3),
              ElementsAre(Files{"a", "b", "c"}, Files{"d", "e"}, Files{"f", "g"}));
  EXPECT_THAT(SplitEvenly({"a", "b", "c", "d"}, 4), ElementsAre(Files{"a"}, Files{"b"}, Files{"c"}, Files{"d"}));
  EXPECT_THAT(SplitEvenly({"a", "b"}, 1), ElementsAre(Files{"a", "b"}));
  // More parts than files: the last chunks are empty.
  EXPECT_THAT(SplitEvenly({"a", "b"}, 4), ElementsAre(Files{"a"}, Files{"b"}, Files{}, Files{}));
  EXPECT_THAT(SplitEvenly({}, 2), ElementsAre(Files{}, Files{}));
  EXPECT_THAT(SplitEvenly({"a"}, 0), IsEmpty());
}

TEST(SplitEvenlyTest, ChunksCoverTheInputInOrderAndDifferByAtMostOne) {
  for (int n = 0; n <= 13; ++n) {
    Files files;
    for (int i = 0; i < n; ++i) files.push_back(absl::StrFormat("f%02d", i));
    for (int parts = 1; parts <= 7; ++parts) {
      SCOPED_TRACE(absl::StrFormat("%d files in %d parts", n, parts));
      std::vector<Files> chunks = SplitEvenly(files, parts);
      ASSERT_EQ(chunks.size(), static_cast<std::size_t>(parts));
      Files joined;
      std::size_t smallest = files.size(), largest = 0;
      for (std::size_t i = 0; i < chunks.size(); ++i) {
        joined.insert(joined.end(), chunks[i].begin(), chunks[i].end());
        smallest = std::min(smallest, chunks[i].size());
        largest = std::max(largest, chunks[i].size());
        if (i > 0) {
          EXPECT_LE(chunks[i].size(), chunks[i - 1].size()) << "larger chunks first";
        }
      }
      EXPECT_EQ(joined, files);
      EXPECT_LE(largest - smallest, 1u);
    }
  }
}

}  // namespace
}  // namespace swarm
