#include "orchestrator/run/path_policy.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(GlobMatchesTest, StarStaysInOneComponent) {
  EXPECT_TRUE(GlobMatches("*.yml", "a.yml"));
  EXPECT_FALSE(GlobMatches("*.yml", "d/a.yml"));
  EXPECT_TRUE(GlobMatches("d/?.c", "d/a.c"));
  EXPECT_FALSE(GlobMatches("d/?.c", "d/ab.c"));
}

TEST(GlobMatchesTest, DoubleStarSpansComponents) {
  EXPECT_TRUE(GlobMatches(".github/**", ".github/workflows/x.yml"));
  EXPECT_TRUE(GlobMatches("**/.gitattributes", ".gitattributes"));
  EXPECT_TRUE(GlobMatches("**/.gitattributes", "a/b/.gitattributes"));
  EXPECT_FALSE(GlobMatches("**/.gitattributes", "a/b/x.gitattributes"));
  EXPECT_TRUE(GlobMatches("a/**/z", "a/z"));
  EXPECT_TRUE(GlobMatches("a/**/z", "a/b/c/z"));
  EXPECT_FALSE(GlobMatches("a/**/z", "b/z"));
}

TEST(GlobMatchesTest, IgnoresLetterCase) { EXPECT_TRUE(GlobMatches(".github/workflows/**", ".GitHub/Workflows/x.yml")); }

TEST(GlobMatchesTest, ManyStarsStayFast) {
  std::string path(4000, 'a');
  EXPECT_FALSE(GlobMatches("*a*a*a*a*a*a*a*a*a*a*a*b", path));
}

TEST(PathPolicyTest, ProtectedPathsAreRefusedWithTheGlobAndTheFlag) {
  PathPolicy policy({});
  for (const char* path : {".github/workflows/ci.yml", ".gitlab-ci.yml", ".gitattributes", "sub/.gitattributes",
                           ".gitmodules", ".circleci/config.yml", ".travis.yml", "Jenkinsfile", ".buildkite/p.yml",
                           "azure-pipelines.yml", ".pre-commit-config.yaml", ".husky/pre-commit", ".envrc",
                           "tools/.envrc"}) {
    absl::Status st = policy.Check({"src/a.c", path});
    EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << path;
    EXPECT_NE(st.message().find(path), std::string::npos) << st;
    EXPECT_NE(st.message().find("--allow-path"), std::string::npos) << st;
  }
}

TEST(PathPolicyTest, OrdinaryPathsPass) {
  PathPolicy policy({});
  EXPECT_TRUE(policy.Check({"src/a.c", ".gitignore", "docs/github.md", ".github/ISSUE_TEMPLATE.md", "README.md"}).ok());
}

TEST(PathPolicyTest, AllowedGlobsLetProtectedPathsThrough) {
  PathPolicy policy({".github/**"});
  EXPECT_TRUE(policy.Check({".github/workflows/x.yml"}).ok());
  EXPECT_FALSE(policy.Check({".gitattributes"}).ok());
}

TEST(CheckAllowGlobTest, RefusesPathsOutOfTheRepository) {
  EXPECT_TRUE(CheckAllowGlob(".github/**").ok());
  EXPECT_FALSE(CheckAllowGlob("").ok());
  EXPECT_FALSE(CheckAllowGlob("/etc/**").ok());
  EXPECT_FALSE(CheckAllowGlob("../x").ok());
  EXPECT_FALSE(CheckAllowGlob("a//b").ok());
}

}  // namespace
}  // namespace swarm
