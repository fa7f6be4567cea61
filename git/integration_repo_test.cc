#include "git/integration_repo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using ::swarm::testing::CommitAll;
using ::swarm::testing::InitRepo;
using ::swarm::testing::ReadFile;
using ::swarm::testing::Sh;
using ::swarm::testing::ShStatus;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;
using ::testing::HasSubstr;

// git for the test's own inspection: no user or system config, and never an optional lock (so that
// looking at the user's repository cannot rewrite its index).
const std::string kGit = "GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_OPTIONAL_LOCKS=0 git";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct TestPatch {
  std::string diff;  // git diff --binary --full-index base..tree
  std::string tree;
};

class IntegrationRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    user_dir_ = dir_ / "user";
    InitRepo(user_dir_);
    WriteFile(user_dir_ + "/a.txt", "alpha\n");
    WriteFile(user_dir_ + "/b.txt", "one\ntwo\nthree\nfour\nfive\n");
    WriteFile(user_dir_ + "/sub/c.txt", "charlie\n");
    WriteFile(user_dir_ + "/run.sh", "#!/bin/sh\necho run\n");
    Sh("chmod +x " + user_dir_ + "/run.sh && ln -s a.txt " + user_dir_ + "/link");
    CommitAll(user_dir_, "base");
    base_ = Trim(Sh(kGit + " -C " + user_dir_ + " rev-parse HEAD"));
    // Hooks that would betray a checkout or a ref update made with the user's hooks on.
    marker_ = dir_ / "hook-ran";
    for (const char* hook : {"post-checkout", "reference-transaction", "post-index-change"}) {
      std::string path = user_dir_ + "/.git/hooks/" + hook;
      WriteFile(path, "#!/bin/sh\necho " + std::string(hook) + " >> " + marker_ + "\n");
      Sh("chmod +x " + path);
    }
    absl::StatusOr<Git> user = Git::Open(user_dir_);
    ASSERT_TRUE(user.ok()) << user.status();
    user_ = std::make_unique<Git>(*user);
    git_dir_ = dir_ / "integration.git";
    absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo = IntegrationRepo::Create(*user_, git_dir_, base_);
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::move(*repo);
  }

  // A patch on the base made the way an agent's workspace makes one: edit a clone, stage everything,
  // diff against the base.
  TestPatch MakePatch(const std::function<void(const std::string& root)>& edit) {
    std::string scratch = dir_ / ("scratch" + std::to_string(scratch_count_++));
    Sh(kGit + " clone -q --no-hardlinks " + user_dir_ + " " + scratch + " 2>/dev/null");
    edit(scratch);
    Sh(kGit + " -C " + scratch + " add -A");
    TestPatch p;
    p.tree = Trim(Sh(kGit + " -C " + scratch + " write-tree"));
    p.diff = Sh(kGit + " -C " + scratch + " diff --cached --binary --full-index " + base_ + " 2>/dev/null");
    EXPECT_FALSE(p.diff.empty());
    return p;
  }
  std::string Commit(const TestPatch& p, const std::string& message = "patch") {
    absl::StatusOr<std::string> c = repo_->CommitPatch(base_, p.diff, p.tree, message);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : "";
  }
  // Inspects the integration repository.
  std::string InRepo(const std::string& args) { return Trim(Sh(kGit + " --git-dir=" + git_dir_ + " " + args)); }
  std::string InUser(const std::string& args) { return Sh(kGit + " -C " + user_dir_ + " " + args); }

  TempDir dir_;
  std::string user_dir_;
  std::string base_;
  std::string marker_;
  std::string git_dir_;
  std::unique_ptr<Git> user_;
  std::unique_ptr<IntegrationRepo> repo_;
  int scratch_count_ = 0;
};

TEST_F(IntegrationRepoTest, CreateMakesABareRepositoryAtTheBase) {
  absl::StatusOr<std::string> head = repo_->Head();
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, base_);
  EXPECT_EQ(InRepo("rev-parse --is-bare-repository"), "true");
  EXPECT_EQ(InRepo("symbolic-ref HEAD"), kIntegrationRef);
  EXPECT_EQ(InRepo("cat-file -p " + base_ + ":a.txt"), "alpha") << "the user's objects are borrowed";
  EXPECT_FALSE(fs::exists(marker_));

  auto again = IntegrationRepo::Create(*user_, git_dir_, base_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();

  auto reopened = IntegrationRepo::Open(git_dir_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->Head(), base_);
  EXPECT_EQ(IntegrationRepo::Open(dir_ / "nothing.git").status().code(), absl::StatusCode::kNotFound);
}

// A git command killed half-way (its coordinator's process group killed at a CI time-out) leaves its
// lock files; a resume removes them, or no patch could ever land again.
TEST_F(IntegrationRepoTest, StaleLockFilesOfAKilledGitAreRemovedAndTheRefMovesAgain) {
  TestPatch p = MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "ALPHA\n"); });
  absl::StatusOr<std::string> commit = repo_->CommitPatch(base_, p.diff, p.tree, "a");
  ASSERT_TRUE(commit.ok()) << commit.status();
  WriteFile(git_dir_ + "/HEAD.lock", "");
  WriteFile(git_dir_ + "/refs/heads/integration.lock", "");
  WriteFile(git_dir_ + "/packed-refs.lock", "");
  EXPECT_FALSE(repo_->CompareAndSwap(*commit, base_).ok()) << "the stale locks stop the ref";
  EXPECT_EQ(IntegrationRepo::RemoveStaleLocks(git_dir_), 3);
  EXPECT_TRUE(repo_->CompareAndSwap(*commit, base_).ok());
  EXPECT_EQ(*repo_->Head(), *commit);
  EXPECT_TRUE(fs::exists(git_dir_ + "/HEAD")) << "only lock files go";
  EXPECT_EQ(IntegrationRepo::RemoveStaleLocks(git_dir_), 0);
}

TEST(PathMatchesTest, AGlobWithoutASlashMatchesTheNameOneWithASlashThePath) {
  EXPECT_TRUE(PathMatches("test_*.py", "pkg/tests/test_parse.py"));
  EXPECT_TRUE(PathMatches("*_test.go", "x_test.go"));
  EXPECT_FALSE(PathMatches("test_*.py", "pkg/parse.py"));
  EXPECT_TRUE(PathMatches("tests/*", "tests/unit/test_a.py"));
  EXPECT_TRUE(PathMatches("*/tests/*", "pkg/tests/a.py"));
  EXPECT_FALSE(PathMatches("tests/*", "pkg/tests/a.py"));
  EXPECT_FALSE(PathMatches("*/tests/*", "tests.py"));
}

TEST_F(IntegrationRepoTest, TheTreeWithChangesToTestFilesHasThePatchsTestsWithoutItsFix) {
  TestPatch p = MakePatch([](const std::string& root) {
    WriteFile(root + "/a.txt", "the fix\n");
    WriteFile(root + "/tests/test_a.py", "the new test\n");
    WriteFile(root + "/sub/c_test.txt", "renamed test\n");
    fs::remove(root + "/sub/c.txt");
  });
  const std::string commit = Commit(p);
  absl::StatusOr<std::string> tree = repo_->TreeWithChangesTo(base_, commit, {"tests/*", "*_test.txt", "c.txt"});
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(InRepo("cat-file -p " + *tree + ":a.txt"), "alpha") << "the fix is left out";
  EXPECT_EQ(InRepo("cat-file -p " + *tree + ":tests/test_a.py"), "the new test");
  EXPECT_EQ(InRepo("cat-file -p " + *tree + ":sub/c_test.txt"), "renamed test");
  EXPECT_NE(Sh(kGit + " --git-dir=" + git_dir_ + " cat-file -e " + *tree + ":sub/c.txt 2>&1; echo $?"), "0\n")
      << "a deleted file that matches is deleted";
  EXPECT_EQ(InRepo("cat-file -p " + *tree + ":b.txt"), "one\ntwo\nthree\nfour\nfive");
  EXPECT_TRUE(absl::IsNotFound(repo_->TreeWithChangesTo(base_, commit, {"*.md"}).status()));
}

TEST_F(IntegrationRepoTest, ALaneRefMovesAndIsPublishedOnItsOwn) {
  EXPECT_EQ(LaneRef(""), kIntegrationRef);
  EXPECT_EQ(LaneRef("12"), "refs/heads/lanes/12");
  ASSERT_TRUE(repo_->CreateRefIfAbsent(LaneRef("12"), base_).ok());
  const std::string commit = Commit(MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "12\n"); }));
  ASSERT_TRUE(repo_->CompareAndSwap(commit, base_, LaneRef("12")).ok());
  ASSERT_TRUE(repo_->CreateRefIfAbsent(LaneRef("12"), base_).ok());
  EXPECT_EQ(*repo_->Head(LaneRef("12")), commit) << "an existing lane keeps what landed on it";
  EXPECT_EQ(*repo_->Head(), base_) << "the run's own ref did not move";
  EXPECT_TRUE(absl::IsAborted(repo_->CompareAndSwap(commit, base_, LaneRef("12"))));
  ASSERT_TRUE(repo_->Publish(*user_, "refs/heads/swarm/issue-12", false, base_, LaneRef("12")).ok());
  EXPECT_EQ(Trim(InUser("rev-parse swarm/issue-12")), commit);
  // It exists now: only --redo (replace) makes it again.
  EXPECT_FALSE(repo_->Publish(*user_, "refs/heads/swarm/issue-12", false, base_, LaneRef("12")).ok());
  ASSERT_TRUE(repo_->CompareAndSwap(base_, commit, LaneRef("12")).ok());
  ASSERT_TRUE(repo_->Publish(*user_, "refs/heads/swarm/issue-12", false, base_, LaneRef("12"), /*replace=*/true).ok());
  EXPECT_EQ(Trim(InUser("rev-parse swarm/issue-12")), base_);
}

TEST_F(IntegrationRepoTest, CommitPatchCommitsTheExpectedTreeOnTheBase) {
  TestPatch p = MakePatch([](const std::string& root) {
    WriteFile(root + "/a.txt", "ALPHA\n");
    WriteFile(root + "/new/d.txt", "delta\n");
    WriteFile(root + "/blob.bin", std::string("\0\1\2binary\0\xff", 11));
    fs::remove(root + "/sub/c.txt");
    Sh("chmod -x " + root + "/run.sh");
  });
  ASSERT_THAT(p.diff, HasSubstr("GIT binary patch"));
  absl::StatusOr<std::string> commit = repo_->CommitPatch(base_, p.diff, p.tree, "subtask a\n\nthe details\n");
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(InRepo("rev-parse " + *commit + "^{tree}"), p.tree);
  EXPECT_EQ(InRepo("rev-parse " + *commit + "^"), base_);
  EXPECT_EQ(InRepo("rev-list --count " + *commit), "2") << "exactly one parent, the base";
  EXPECT_EQ(InRepo("log -1 --format=%B " + *commit), "subtask a\n\nthe details");
  EXPECT_EQ(InRepo("cat-file -p " + *commit + ":a.txt"), "ALPHA");
  EXPECT_EQ(InRepo("cat-file -p " + *commit + ":new/d.txt"), "delta");
  EXPECT_EQ(*repo_->Head(), base_) << "committing a patch does not land it";
  for (const auto& entry : fs::directory_iterator(git_dir_)) {
    EXPECT_NE(entry.path().extension(), ".index") << "the private index is left behind: " << entry.path();
  }
}

TEST_F(IntegrationRepoTest, CommitPatchRefusesAWrongTree) {
  TestPatch p = MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "ALPHA\n"); });
  TestPatch other = MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "something else\n"); });
  absl::StatusOr<std::string> commit = repo_->CommitPatch(base_, p.diff, other.tree, "m");
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kInvalidArgument) << commit.status();
  EXPECT_THAT(std::string(commit.status().message()), HasSubstr(other.tree.substr(0, 12)));
}

TEST_F(IntegrationRepoTest, CommitPatchRefusesADiffThatDoesNotApply) {
  // Made against a.txt as "ALPHA": its preimage is not in the base.
  TestPatch first = MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "ALPHA\n"); });
  ASSERT_FALSE(Commit(first).empty());
  std::string scratch = dir_ / "stacked";
  Sh(kGit + " clone -q " + user_dir_ + " " + scratch + " 2>/dev/null");
  WriteFile(scratch + "/a.txt", "ALPHA\n");
  Sh(kGit + " -C " + scratch + " add -A");
  std::string mid = Trim(Sh(kGit + " -C " + scratch + " write-tree"));
  WriteFile(scratch + "/a.txt", "ALPHA 2\n");
  Sh(kGit + " -C " + scratch + " add -A");
  std::string tree = Trim(Sh(kGit + " -C " + scratch + " write-tree"));
  std::string stacked = Sh(kGit + " -C " + scratch + " diff --binary --full-index " + mid + " " + tree);
  ASSERT_THAT(stacked, HasSubstr("+ALPHA 2"));

  absl::StatusOr<std::string> commit = repo_->CommitPatch(base_, stacked, tree, "m");
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kInvalidArgument) << commit.status();
  EXPECT_THAT(std::string(commit.status().message()), HasSubstr("does not apply"));

  commit = repo_->CommitPatch(base_, "this is not a diff\n", tree, "m");
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kInvalidArgument) << commit.status();
}

TEST_F(IntegrationRepoTest, MergeTreeComposesPatchesOnDifferentFiles) {
  TestPatch p1 = MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "ALPHA\n"); });
  TestPatch p2 = MakePatch([](const std::string& root) {
    WriteFile(root + "/sub/c.txt", "CHARLIE\n");
    WriteFile(root + "/b.txt", "one\ntwo\nthree\nfour\nFIVE\n");
  });
  TestPatch both = MakePatch([](const std::string& root) {
    WriteFile(root + "/a.txt", "ALPHA\n");
    WriteFile(root + "/sub/c.txt", "CHARLIE\n");
    WriteFile(root + "/b.txt", "one\ntwo\nthree\nfour\nFIVE\n");
  });
  std::string c1 = Commit(p1), c2 = Commit(p2);
  ASSERT_TRUE(repo_->CompareAndSwap(c1, base_).ok());
  absl::StatusOr<std::string> merged = repo_->MergeTree(c1, c2);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(*merged, both.tree);
  absl::StatusOr<std::string> landed = repo_->CommitTree(*merged, c1, "land p2");
  ASSERT_TRUE(landed.ok()) << landed.status();
  EXPECT_EQ(InRepo("rev-parse " + *landed + "^"), c1);
  EXPECT_EQ(InRepo("cat-file -p " + *landed + ":sub/c.txt"), "CHARLIE");
}

TEST_F(IntegrationRepoTest, MergeTreeReportsAConflictNamingTheFile) {
  TestPatch p1 = MakePatch([](const std::string& root) {
    WriteFile(root + "/b.txt", "one\nTWO from p1\nthree\nfour\nfive\n");
    WriteFile(root + "/a.txt", "ALPHA\n");
  });
  TestPatch p2 = MakePatch([](const std::string& root) {
    WriteFile(root + "/b.txt", "one\nTWO from p2\nthree\nfour\nfive\n");
    WriteFile(root + "/sub/c.txt", "CHARLIE\n");
  });
  std::string c1 = Commit(p1), c2 = Commit(p2);
  absl::StatusOr<std::string> merged = repo_->MergeTree(c1, c2);
  ASSERT_FALSE(merged.ok()) << *merged;
  EXPECT_EQ(merged.status().code(), absl::StatusCode::kAborted) << merged.status();
  EXPECT_THAT(std::string(merged.status().message()), HasSubstr("b.txt"));
  EXPECT_THAT(std::string(merged.status().message()), ::testing::Not(HasSubstr("sub/c.txt")))
      << "only the conflicting path is named";
  // What the agent that redoes p2 is told: the file with both sides and the markers, and the kind.
  absl::StatusOr<std::string> json = repo_->ConflictJson(c1, c2);
  ASSERT_TRUE(json.ok()) << json.status();
  nlohmann::json doc = nlohmann::json::parse(*json);
  EXPECT_EQ(doc["head"], c1);
  ASSERT_EQ(doc["files"].size(), 1u) << *json;
  EXPECT_EQ(doc["files"][0]["path"], "b.txt");
  EXPECT_EQ(doc["files"][0]["kind"], "content");
  std::string content = doc["files"][0]["content"];
  EXPECT_THAT(content, HasSubstr("<<<<<<<"));
  EXPECT_THAT(content, HasSubstr("TWO from p1"));
  EXPECT_THAT(content, HasSubstr("TWO from p2"));
}

TEST_F(IntegrationRepoTest, ConflictJsonNamesAModifyDeleteConflictAndAnyPath) {
  TestPatch p1 = MakePatch([](const std::string& root) {
    std::filesystem::remove(root + "/a.txt");
    WriteFile(root + "/\xc3\xa9 x.txt", "one\n");
  });
  TestPatch p2 = MakePatch([](const std::string& root) {
    WriteFile(root + "/a.txt", "changed\n");
    WriteFile(root + "/\xc3\xa9 x.txt", "two\n");
  });
  std::string c1 = Commit(p1), c2 = Commit(p2);
  absl::StatusOr<std::string> json = repo_->ConflictJson(c1, c2);
  ASSERT_TRUE(json.ok()) << json.status();
  nlohmann::json doc = nlohmann::json::parse(*json);
  std::map<std::string, std::string> kinds;
  for (const auto& f : doc["files"]) kinds[f["path"]] = f.value("kind", "");
  EXPECT_EQ(kinds["a.txt"], "modify/delete") << *json;
  EXPECT_EQ(kinds["\xc3\xa9 x.txt"], "add/add") << *json;
}

TEST_F(IntegrationRepoTest, CompareAndSwapMovesTheHeadOnlyFromTheExpectedOldHead) {
  std::string c1 = Commit(MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "1\n"); }));
  std::string c2 = Commit(MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "2\n"); }));
  ASSERT_TRUE(repo_->CompareAndSwap(c1, base_).ok());
  EXPECT_EQ(*repo_->Head(), c1);
  absl::Status stale = repo_->CompareAndSwap(c2, base_);
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  EXPECT_EQ(*repo_->Head(), c1) << "a stale swap leaves the ref alone";
  ASSERT_TRUE(repo_->CompareAndSwap(c2, c1).ok());
  EXPECT_EQ(*repo_->Head(), c2);
}

TEST_F(IntegrationRepoTest, MaterializeWritesExactlyTheTreesFiles) {
  std::string commit = Commit(MakePatch([](const std::string& root) {
    WriteFile(root + "/new/d.txt", "delta\n");
    fs::remove(root + "/sub/c.txt");
  }));
  std::string tree = InRepo("rev-parse " + commit + "^{tree}");
  std::string out = dir_ / "copy";
  absl::Status st = repo_->Materialize(tree, out);
  ASSERT_TRUE(st.ok()) << st;

  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(out); it != fs::recursive_directory_iterator(); ++it) {
    files.push_back(it->path().lexically_relative(out).string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"a.txt", "b.txt", "link", "new", "new/d.txt", "run.sh"}));
  EXPECT_EQ(ReadFile(out + "/a.txt"), "alpha\n");
  EXPECT_EQ(ReadFile(out + "/new/d.txt"), "delta\n");
  EXPECT_NE(fs::status(out + "/run.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_EQ(fs::status(out + "/a.txt").permissions() & fs::perms::owner_exec, fs::perms::none);
  ASSERT_TRUE(fs::is_symlink(out + "/link"));
  EXPECT_EQ(fs::read_symlink(out + "/link"), "a.txt");
  EXPECT_FALSE(fs::exists(marker_));
}

TEST_F(IntegrationRepoTest, PublishCreatesTheBranchAndLeavesTheUsersCheckoutAlone) {
  std::string commit = Commit(MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "ALPHA\n"); }));
  ASSERT_TRUE(repo_->CompareAndSwap(commit, base_).ok());
  // The user keeps working meanwhile: a staged edit, an unstaged edit and an untracked file.
  WriteFile(user_dir_ + "/b.txt", "staged\n");
  InUser("add b.txt");
  WriteFile(user_dir_ + "/a.txt", "my local edit\n");
  WriteFile(user_dir_ + "/untracked.txt", "mine\n");
  const std::string head_file = ReadFile(user_dir_ + "/.git/HEAD");
  const std::string head = InUser("rev-parse HEAD");
  const std::string stage = InUser("ls-files -s");
  const std::string index = ReadFile(user_dir_ + "/.git/index");
  const std::string status = InUser("status --porcelain");
  ASSERT_FALSE(index.empty());
  fs::remove(marker_);

  absl::Status st = repo_->Publish(*user_, "refs/heads/swarm/x");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Trim(InUser("rev-parse refs/heads/swarm/x")), commit);
  EXPECT_EQ(Trim(InUser("cat-file -p swarm/x:a.txt")), "ALPHA") << "the objects came along";

  EXPECT_EQ(ReadFile(user_dir_ + "/.git/HEAD"), head_file);
  EXPECT_EQ(InUser("rev-parse HEAD"), head);
  EXPECT_EQ(InUser("ls-files -s"), stage);
  EXPECT_TRUE(ReadFile(user_dir_ + "/.git/index") == index) << "the index file was rewritten";
  EXPECT_EQ(ReadFile(user_dir_ + "/a.txt"), "my local edit\n");
  EXPECT_EQ(ReadFile(user_dir_ + "/b.txt"), "staged\n");
  EXPECT_EQ(ReadFile(user_dir_ + "/untracked.txt"), "mine\n");
  EXPECT_EQ(InUser("status --porcelain"), status);
  EXPECT_FALSE(fs::exists(marker_)) << "a user hook ran: " << ReadFile(marker_);
}

TEST_F(IntegrationRepoTest, PublishRefusesAnExistingBranch) {
  InUser("branch swarm/x");
  std::string commit = Commit(MakePatch([](const std::string& root) { WriteFile(root + "/a.txt", "ALPHA\n"); }));
  ASSERT_TRUE(repo_->CompareAndSwap(commit, base_).ok());
  fs::remove(marker_);
  absl::Status st = repo_->Publish(*user_, "refs/heads/swarm/x");
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("swarm/x"));
  EXPECT_EQ(Trim(InUser("rev-parse refs/heads/swarm/x")), base_) << "the user's branch is not moved";
  EXPECT_FALSE(fs::exists(marker_));
  // A resumed run moves its own branch forward, never backward or sideways.
  ASSERT_TRUE(repo_->Publish(*user_, "refs/heads/swarm/x", /*move_forward=*/true).ok());
  EXPECT_EQ(Trim(InUser("rev-parse refs/heads/swarm/x")), commit);
  // Told the run's base, it moves only a branch past it: one someone made at the base meanwhile stays.
  InUser("branch swarm/made-at-base " + base_);
  EXPECT_EQ(repo_->Publish(*user_, "refs/heads/swarm/made-at-base", /*move_forward=*/true, base_).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Trim(InUser("rev-parse refs/heads/swarm/made-at-base")), base_);
  const std::string b_patch = Commit(MakePatch([](const std::string& root) { WriteFile(root + "/b.txt", "BETA\n"); }));
  absl::StatusOr<std::string> landed = repo_->CommitTree(InRepo("rev-parse " + b_patch + "^{tree}"), commit, "second");
  ASSERT_TRUE(landed.ok()) << landed.status();
  const std::string second = *landed;
  ASSERT_TRUE(repo_->CompareAndSwap(second, commit).ok());
  ASSERT_TRUE(repo_->Publish(*user_, "refs/heads/swarm/x", /*move_forward=*/true, base_).ok());
  EXPECT_EQ(Trim(InUser("rev-parse refs/heads/swarm/x")), second) << "its own branch, one landing on";
  InUser("branch -f swarm/y " + second);
  ASSERT_TRUE(repo_->CompareAndSwap(base_, second).ok());
  EXPECT_EQ(repo_->Publish(*user_, "refs/heads/swarm/y", /*move_forward=*/true).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace swarm
