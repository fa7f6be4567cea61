// Finding 14: swarm's state is private to its user. Another local user tries to read what a run left
// (the state directory, the store, its logs, the integration repository, the test cache) and the
// workspaces it kept, file by file, and gets nothing. As root and as an unprivileged
// user the test creates.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

// Another local user: nobody, who owns nothing here.
const passwd* Stranger() { return getpwnam("nobody"); }

// Whether `user` can read `path` (a file: its first byte; a directory: its listing).
bool CanRead(const passwd& user, const std::string& path) {
  const std::string read =
      fs::is_directory(path) ? "ls '" + path + "' >/dev/null" : "head -c1 '" + path + "' >/dev/null";
  return ShStatus(absl::StrCat("setpriv --reuid=", user.pw_uid, " --regid=", user.pw_gid, " --clear-groups sh -c \"",
                               read, "\" 2>/dev/null")) == 0;
}

class StatePrivacyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to act as other users (CI runs as root)";
    ASSERT_NE(Stranger(), nullptr);
    InitRepo(repo());
    WriteFile(repo() + "/a.txt", "a\n");
    CommitAll(repo(), "base");
    if (GetParam()) {
      user_ = UnprivilegedTestUser();
      ASSERT_NE(user_, nullptr);
      Sh(absl::StrCat("chown -R ", user_->pw_uid, ":", user_->pw_gid, " ", dir_.path()));
    }
  }
  CliResult Swarm(const std::vector<std::string>& args) {
    return user_ != nullptr ? RunSwarmAs(*user_, dir_.path(), args) : RunSwarm(args);
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }

  TempDir dir_;
  const passwd* user_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(AsRootAndAsAUser, StatePrivacyTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "user" : "root"; });

TEST_P(StatePrivacyTest, AnotherUserReadsNothingOfTheStateOrOfTheWorkspaces) {
  // --keep-workspaces: the workspaces stay after the run (in /dev/shm when it has room), so that what
  // a live run keeps there can be tried too.
  CliResult r = Swarm({"run", "--repo", repo(), "--state-dir", state(), "--shard", "*.txt", "--parts", "1",
                       "--agent-cmd", "echo b >> $SWARM_FILES", "--test-cmd", "cat a.txt", "--keep-workspaces"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string run_id = OnlyReport(state())["run_id"].get<std::string>();
  // The check itself can see: the user's repository is as readable to others as the user left it.
  ASSERT_TRUE(CanRead(*Stranger(), repo() + "/a.txt"));
  std::vector<std::string> roots = {state()};
  if (fs::exists("/dev/shm/swarm-" + run_id)) roots.push_back("/dev/shm/swarm-" + run_id);
  int checked = 0;
  for (const std::string& root : roots) {
    struct stat top {};
    ASSERT_EQ(lstat(root.c_str(), &top), 0) << root;
    EXPECT_EQ(top.st_mode & 077, 0u) << root << " is open to others";
    EXPECT_FALSE(CanRead(*Stranger(), root)) << root;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_symlink() || (!it->is_regular_file() && !it->is_directory())) continue;
      EXPECT_FALSE(CanRead(*Stranger(), it->path().string())) << it->path();
      ++checked;
    }
  }
  EXPECT_GT(checked, 10) << "the run left too little to check";
  for (const char* must : {"swarm.db", "runs"}) EXPECT_TRUE(fs::exists(state() + "/" + must)) << must;
  std::error_code ec;
  fs::remove_all("/dev/shm/swarm-" + run_id, ec);
}

}  // namespace
}  // namespace swarm::testing
