#include "git/patch_entries.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

absl::Status Check(const std::string& path, const std::string& mode, const std::string& target = "") {
  return CheckPatchEntries({PatchEntry{.path = path, .new_mode = mode, .link_target = target}});
}

TEST(CheckPatchEntriesTest, OrdinaryFilesAndInnerLinksPass) {
  EXPECT_TRUE(Check("src/a.c", "100644").ok());
  EXPECT_TRUE(Check("run.sh", "100755").ok());
  EXPECT_TRUE(Check("old.c", "000000").ok());
  EXPECT_TRUE(Check("a/link", "120000", "../b").ok());
  EXPECT_TRUE(Check(".github/x", "100644").ok()) << "protected paths are the coordinator's PathPolicy";
}

TEST(CheckPatchEntriesTest, GitlinkIsRefused) {
  absl::Status st = Check("vendor/lib", "160000");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("vendor/lib"), std::string::npos) << st;
}

TEST(CheckPatchEntriesTest, PathsInsideGitAreRefused) {
  for (const char* path : {".git/config", "foo/.git/hooks/pre-commit", ".GIT/HEAD", "a/.Git"}) {
    absl::Status st = Check(path, "100644");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_NE(st.message().find(path), std::string::npos) << st;
  }
}

TEST(CheckPatchEntriesTest, LinksOutOrIntoGitAreRefused) {
  for (const char* target : {".git", "../.git", ".git/hooks", "/etc/passwd", "../x"}) {
    absl::Status st = Check("a", "120000", target);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << target;
  }
}

TEST(CheckPatchEntriesTest, NamesAreEscapedInTheReason) {
  absl::Status st = Check("x\x1b]0;pwned\x07/.git/config", "100644");
  EXPECT_EQ(st.message().find('\x1b'), std::string::npos) << st;
  EXPECT_NE(st.message().find("\\x1b]0;pwned\\x07"), std::string::npos) << st;
}

TEST(HasGitComponentTest, Cases) {
  EXPECT_TRUE(HasGitComponent(".git"));
  EXPECT_TRUE(HasGitComponent("a/.git/b"));
  EXPECT_FALSE(HasGitComponent(".github/workflows/x.yml"));
  EXPECT_FALSE(HasGitComponent("a.git/b"));
  EXPECT_FALSE(HasGitComponent(".gitignore"));
}

}  // namespace
}  // namespace swarm
