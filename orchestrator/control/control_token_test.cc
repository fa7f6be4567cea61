#include "orchestrator/control/control_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "testing/test_util.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

TEST(ControlTokenTest, NewTokensAre256BitsOfHexAndDiffer) {
  absl::StatusOr<std::string> a = NewControlToken(), b = NewControlToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST(ControlTokenTest, TheFileIsOnlyEverTheOwnersAndIsReplacedWhole) {
  TempDir dir;
  const std::string path = dir / "control.token";
  WriteFile(path, "old\n");
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteTokenFile(path, std::string(64, 'a')).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<std::string> read = ReadTokenFile(path, /*private_only=*/true);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, std::string(64, 'a'));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "a temporary was left";
}

TEST(ControlTokenTest, ReadingRefusesLinksFifosEmptyAndSharedFilesWithoutShowingTheContent) {
  TempDir dir;
  WriteFile(dir / "token", "s3cr3t-token-value-that-is-long-enough\n");
  chmod((dir / "token").c_str(), 0600);
  fs::create_symlink(dir / "token", dir / "link");
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  WriteFile(dir / "empty", " \n");
  WriteFile(dir / "shared", "s3cr3t-token-value-that-is-long-enough\n");
  chmod((dir / "shared").c_str(), 0644);
  for (const char* name : {"link", "fifo", "empty", "missing"}) {
    absl::StatusOr<std::string> r = ReadTokenFile(dir / name, /*private_only=*/false);
    EXPECT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().message().find("s3cr3t"), std::string::npos) << r.status();
  }
  absl::StatusOr<std::string> shared = ReadTokenFile(dir / "shared", /*private_only=*/true);
  EXPECT_FALSE(shared.ok());
  EXPECT_NE(shared.status().message().find("chmod 600"), std::string::npos) << shared.status();
  EXPECT_TRUE(ReadTokenFile(dir / "shared", /*private_only=*/false).ok());
}

TEST(ControlTokenTest, TokensCompareWhole) {
  EXPECT_TRUE(TokensEqual("abc", "abc"));
  EXPECT_FALSE(TokensEqual("abc", "abd"));
  EXPECT_FALSE(TokensEqual("abc", "ab"));
  EXPECT_FALSE(TokensEqual("", "a"));
}

TEST(ControlTokenTest, AClientTakesTheFlagThenTheEnvironmentThenTheFileBesideAUnixSocket) {
  TempDir dir;
  WriteFile(dir / "control.token", "beside\n");
  WriteFile(dir / "mine", "from-file\n");
  unsetenv(kTokenEnv);
  EXPECT_EQ(*ClientToken("unix:" + (dir / "c.sock"), dir / "mine"), "from-file");
  EXPECT_EQ(*ClientToken("unix:" + (dir / "c.sock"), ""), "beside");
  EXPECT_EQ(*ClientToken("127.0.0.1:5000", ""), "") << "a TCP address gets no default";
  EXPECT_EQ(*ClientToken("unix:/nonexistent/c.sock", ""), "");
  setenv(kTokenEnv, "from-env", 1);
  EXPECT_EQ(*ClientToken("unix:" + (dir / "c.sock"), ""), "from-env");
  EXPECT_EQ(*ClientToken("unix:" + (dir / "c.sock"), dir / "mine"), "from-file");
  unsetenv(kTokenEnv);
}

}  // namespace
}  // namespace swarm
