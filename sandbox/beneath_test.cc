#include "sandbox/beneath.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;
namespace fs = std::filesystem;

class BeneathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(tree_ / "report.xml", "<testsuite/>");
    WriteFile(tree_ / "out/nested.xml", "nested");
    WriteFile(outside_ / "secret.xml", "<testcase name=\"root_secret\"/>");
  }
  TempDir tree_;
  TempDir outside_;
};

TEST_F(BeneathTest, ReadsARegularFileInside) {
  EXPECT_EQ(*ReadFileBeneath(tree_.path(), "report.xml", 1024), "<testsuite/>");
  EXPECT_EQ(*ReadFileBeneath(tree_.path(), "out/nested.xml", 1024), "nested");
  EXPECT_EQ(*ReadFileBeneath(tree_.path(), "out/../report.xml", 1024), "<testsuite/>");
  WriteFile(tree_ / "empty", "");
  EXPECT_EQ(*ReadFileBeneath(tree_.path(), "empty", 1024), "");
}

TEST_F(BeneathTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "nothing.xml", 1024).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BeneathTest, RefusesASymlinkToAFileOutside) {
  fs::create_symlink(outside_ / "secret.xml", tree_ / "link.xml");
  absl::StatusOr<std::string> r = ReadFileBeneath(tree_.path(), "link.xml", 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("symlink"), std::string::npos) << r.status();
}

TEST_F(BeneathTest, RefusesASymlinkInsideTheTreeToo) {
  fs::create_symlink("report.xml", tree_ / "alias.xml");
  EXPECT_FALSE(ReadFileBeneath(tree_.path(), "alias.xml", 1024).ok());
}

TEST_F(BeneathTest, RefusesADirectoryLinkAlongThePath) {
  fs::create_directory_symlink(outside_.path(), tree_ / "escape");
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "escape/secret.xml", 1024).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(BeneathTest, RefusesDotDotAndAbsolutePaths) {
  const std::string up = "../" + fs::path(outside_.path()).filename().string() + "/secret.xml";
  EXPECT_EQ(ReadFileBeneath(tree_.path(), up, 1024).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadFileBeneath(tree_.path(), outside_ / "secret.xml", 1024).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(BeneathTest, AFifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(mkfifo((tree_ / "fifo.xml").c_str(), 0600), 0);
  absl::StatusOr<std::string> r = ReadFileBeneath(tree_.path(), "fifo.xml", 1024);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("FIFO"), std::string::npos) << r.status();
}

TEST_F(BeneathTest, ADirectoryIsRefused) {
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "out", 1024).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(BeneathTest, AFileOverTheCapIsRefused) {
  WriteFile(tree_ / "big.xml", std::string(2000, 'x'));
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "big.xml", 1999).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "big.xml", 2000)->size(), 2000u);
}

TEST_F(BeneathTest, NamesAreEscapedInMessages) {
  absl::StatusOr<std::string> r = ReadFileBeneath(tree_.path(), "\x1b[2Jx", 1024);
  EXPECT_EQ(r.status().message().find('\x1b'), std::string::npos) << r.status();
}

TEST_F(BeneathTest, RemoveDeletesOnlyInsideAndNeverThroughALink) {
  EXPECT_TRUE(RemoveFileBeneath(tree_.path(), "report.xml").ok());
  EXPECT_FALSE(fs::exists(tree_ / "report.xml"));
  EXPECT_TRUE(RemoveFileBeneath(tree_.path(), "report.xml").ok());  // already gone
  // A link at the name is removed itself, never its target.
  fs::create_symlink(outside_ / "secret.xml", tree_ / "link.xml");
  EXPECT_TRUE(RemoveFileBeneath(tree_.path(), "link.xml").ok());
  EXPECT_TRUE(fs::exists(outside_ / "secret.xml"));
  // A link along the path is not followed.
  fs::create_directory_symlink(outside_.path(), tree_ / "escape");
  EXPECT_FALSE(RemoveFileBeneath(tree_.path(), "escape/secret.xml").ok());
  EXPECT_TRUE(fs::exists(outside_ / "secret.xml"));
}

}  // namespace
}  // namespace swarm
