#include "tools/file_tools.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "testing/test_util.h"
#include "tools/workspace_path.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

class FileToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string() + "/ws";
    fs::create_directories(root_ + "/src");
    fs::create_directories(root_ + "/.git");
    WriteFile(root_ + "/src/area.c",
              "#include \"shapes.h\"\n\ndouble compute_area(double w, double h) {\n  return w * h;\n}\n\n"
              "double twice(double x) { return x + x; }\n");
    WriteFile(root_ + "/README.md", "hello\nhello\n");
  }
  TempDir dir_;
  std::string root_;
};

TEST_F(FileToolsTest, EditReplacesAnExactMatchThatOccursOnce) {
  auto r = Edit(root_, "src/area.c", "return w * h;", "return w * h;  /* area */");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "edited src/area.c at line 4\n");
  EXPECT_NE(testing::ReadFile(root_ + "/src/area.c").find("/* area */"), std::string::npos);
}

TEST_F(FileToolsTest, EditWithNoMatchShowsTheNearestLines) {
  auto r = Edit(root_, "src/area.c", "double compute_area(double width, double h) {", "x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nearest lines"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("3\tdouble compute_area(double w, double h) {"), std::string::npos) << r.status();
  EXPECT_EQ(testing::ReadFile(root_ + "/src/area.c").find("x\n"), std::string::npos) << "nothing changed";
}

TEST_F(FileToolsTest, EditWithSeveralMatchesSaysWhere) {
  auto r = Edit(root_, "README.md", "hello", "bye");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("occurs 2 times"), std::string::npos);
  EXPECT_NE(r.status().message().find("at lines 1, 2"), std::string::npos) << r.status();
  EXPECT_EQ(testing::ReadFile(root_ + "/README.md"), "hello\nhello\n");
}

TEST_F(FileToolsTest, PathsThatLeaveTheWorkspaceAreErrorsNotActions) {
  WriteFile(dir_.path() + "/outside.txt", "secret\n");
  auto dots = Edit(root_, "../outside.txt", "secret", "owned");
  EXPECT_EQ(dots.status().code(), absl::StatusCode::kPermissionDenied) << dots.status();
  EXPECT_EQ(testing::ReadFile(root_ + "/../outside.txt"), "secret\n");
  auto sneaky = swarm::ReadFile(root_, "src/../../outside.txt");
  EXPECT_EQ(sneaky.status().code(), absl::StatusCode::kPermissionDenied);

  fs::create_symlink(dir_.path() + "/outside.txt", root_ + "/link.txt");
  auto through_file_link = Edit(root_, "link.txt", "secret", "owned");
  EXPECT_EQ(through_file_link.status().code(), absl::StatusCode::kPermissionDenied) << through_file_link.status();
  EXPECT_NE(through_file_link.status().message().find("symbolic link"), std::string::npos);
  fs::create_symlink(dir_.path(), root_ + "/up");
  auto through_dir_link = CreateFile(root_, "up/new.txt", "x");
  EXPECT_EQ(through_dir_link.status().code(), absl::StatusCode::kPermissionDenied) << through_dir_link.status();
  EXPECT_FALSE(fs::exists(dir_.path() + "/new.txt"));
  EXPECT_EQ(testing::ReadFile(dir_.path() + "/outside.txt"), "secret\n");
  EXPECT_EQ(ListDir(root_, "/etc").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadFile(root_, ".git/config").status().code(), absl::StatusCode::kPermissionDenied);
  fs::create_symlink(".git", root_ + "/g");
  EXPECT_EQ(CreateFile(root_, "g/hooks/post-commit", "x").status().code(), absl::StatusCode::kPermissionDenied)
      << "nor through a link to it";
}

TEST_F(FileToolsTest, ReadListSearchAndCreate) {
  EXPECT_EQ(*ReadFile(root_, "src/area.c", 3, 4), "3\tdouble compute_area(double w, double h) {\n4\t  return w * h;\n");
  EXPECT_EQ(ReadFile(root_, "src/area.c", 50).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*ListDir(root_, "."), "README.md\nsrc/\n") << "no .git";
  EXPECT_EQ(*Search(root_, "compute_\\w+"), "src/area.c:3: double compute_area(double w, double h) {\n");
  EXPECT_EQ(*Search(root_, "nothing here"), "no matches\n");
  EXPECT_EQ(Search(root_, "(unclosed").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CreateFile(root_, "docs/new/guide.md", "# Guide\n").ok());
  EXPECT_EQ(testing::ReadFile(root_ + "/docs/new/guide.md"), "# Guide\n");
  EXPECT_EQ(CreateFile(root_, "README.md", "x").status().code(), absl::StatusCode::kAlreadyExists);
}

// As root, the workspace is the sandbox user's: what create_file makes must be too, or the agent's
// own `run` cannot read it.
TEST_F(FileToolsTest, CreatedFilesBelongToTheWorkspacesOwner) {
  if (geteuid() != 0) GTEST_SKIP() << "only root makes files for another user";
  ASSERT_EQ(chown(root_.c_str(), 65534, 65534), 0);
  ASSERT_TRUE(CreateFile(root_, "made/by/tool.txt", "x").ok());
  for (const char* p : {"made", "made/by", "made/by/tool.txt"}) {
    struct stat st {};
    ASSERT_EQ(lstat((root_ + "/" + p).c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_uid, 65534u) << p;
  }
}

TEST_F(FileToolsTest, AnOverlongPatternIsRefusedWithItsSize) {
  absl::StatusOr<std::string> r = Search(root_, std::string(5000, 'a'));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("5000 bytes"), std::string::npos) << r.status();
}

TEST_F(FileToolsTest, SearchIsLinearInTheTextWhateverThePattern) {
  // ^(a|a)*$ backtracks exponentially in std::regex: 30 s of host CPU on 30 characters.
  testing::WriteFile(root_ + "/redos.txt", std::string(40, 'a') + "b\n" + std::string(40, 'a') + "\n");
  EXPECT_EQ(*Search(root_, "^(a|a)*$", "redos.txt"), "redos.txt:2: " + std::string(40, 'a') + "\n");
}

TEST_F(FileToolsTest, AnInvalidPatternSaysWhatIsWrong) {
  absl::StatusOr<std::string> r = Search(root_, "(unclosed");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("missing )"), std::string::npos) << r.status();
  r = Search(root_, "(?=lookahead)");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("(?="), std::string::npos) << r.status();
}

TEST_F(FileToolsTest, SearchStopsAtTheDeadlineAndSaysSo) {
  SearchLimits limits;
  limits.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  absl::StatusOr<std::string> r = Search(root_, "compute", ".", limits);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->find("search stopped early (the attempt's time is up)"), std::string::npos) << *r;
  EXPECT_EQ(r->find("compute_area"), std::string::npos) << *r;
}

TEST_F(FileToolsTest, SearchStopsAtItsFileLimitAndSaysSo) {
  for (int i = 0; i < 5; ++i) testing::WriteFile(root_ + "/many/f" + std::to_string(i) + ".txt", "needle\n");
  SearchLimits limits;
  limits.max_files = 2;
  absl::StatusOr<std::string> r = Search(root_, "needle", "many", limits);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "many/f0.txt:1: needle\nmany/f1.txt:1: needle\n"
                "[search stopped early (read 2 files, 0 MiB): the results are incomplete; narrow the path]\n");
}

TEST(TruncatedTest, SaysWhatWasCut) {
  std::string text(30000, 'a');
  std::string cut = Truncated(text, 1000);
  EXPECT_LT(cut.size(), 1100u);
  EXPECT_NE(cut.find("[output truncated: 29000 more bytes not shown]"), std::string::npos);
}

}  // namespace
}  // namespace swarm
