// Finding 1 end to end: a real `swarm run` whose agent and whose patched test try to reach the host's
// root (the core_pattern pipe, root-only files, swarm's own state). The agent writes what it could do
// into its patch; the test command passes only if every attempt failed, so the patch lands only
// where the sandbox held. Run as root and as an unprivileged user the test creates.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

// What the agent tries, writing the outcome of each attempt into report.txt (its patch).
constexpr char kAgent[] =
    "{ echo uid=$(id -u);"
    "  git status --short >/dev/null 2>git.err || { echo GIT_BROKEN; cat git.err; };"
    "  git log --oneline -1 >/dev/null 2>&1 || echo GIT_LOG_BROKEN; rm -f git.err;"
    "  (echo \"|$PWD/evil.sh\" > /proc/sys/kernel/core_pattern) 2>/dev/null && echo core_pattern=WRITTEN;"
    "  cat /etc/shadow >/dev/null 2>&1 && echo shadow=READ;"
    "  test -e \"$SWARM_STATE_PROBE/swarm.db\" && echo state=SEEN;"
    "  echo done; } > report.txt";
// What a patched test tries; it fails (so nothing lands) if any attempt succeeds.
constexpr char kTest[] =
    "test \"$(id -u)\" != 0 && ! (echo '|/tmp/x' > /proc/sys/kernel/core_pattern) 2>/dev/null && "
    "! cat /etc/shadow >/dev/null 2>&1 && grep -qx done report.txt";

class RootEscapeTest : public ::testing::TestWithParam<bool> {
 protected:
  // Runs `command` with sh, as root or as the unprivileged test user (through a script file, so
  // that nothing is quoted twice).
  int Shell(const std::string& command, std::string* out) {
    const std::string script = dir_ / absl::StrCat("step-", steps_++, ".sh");
    WriteFile(script, command + "\n");
    if (!GetParam()) return ShStatus("sh " + script, out);
    return ShStatus(absl::StrCat("setpriv --reuid=", user_->pw_uid, " --regid=", user_->pw_gid,
                                 " --clear-groups env HOME=", dir_.path(), " sh ", script),
                    out);
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "runs as root, and as a user that root creates";
    if (GetParam()) {
      user_ = UnprivilegedTestUser();
      ASSERT_NE(user_, nullptr);
      ASSERT_EQ(chown(dir_.path().c_str(), user_->pw_uid, user_->pw_gid), 0);
    }
  }

  TempDir dir_;
  const passwd* user_ = nullptr;
  int steps_ = 0;
};

TEST_P(RootEscapeTest, AnAgentAndAPatchedTestStayUnprivileged) {
  const std::string core_pattern = ReadFile("/proc/sys/kernel/core_pattern");
  const std::string repo = dir_ / "repo";
  const std::string state = dir_ / "state";
  std::string out;
  ASSERT_EQ(Shell(absl::StrCat("git init -q -b main ", repo, " && cd ", repo,
                               " && echo done > report.txt && git add -A && git -c user.name=t -c user.email=t@t "
                               "commit -qm base"),
                  &out),
            0)
      << out;
  // The agent command and test go through a file: quoting them through `setpriv sh -c` is fragile.
  WriteFile(dir_ / "agent.sh", kAgent);
  WriteFile(dir_ / "test.sh", kTest);
  int status = Shell(absl::StrCat(BuildDir(), "/bin/swarm run --repo ", repo, " --state-dir ", state,
                                  " --shard report.txt --parts 1 --agent-cmd 'sh ", dir_ / "agent.sh",
                                  "' --sandbox-ro-bind ", dir_ / "agent.sh", " --sandbox-ro-bind ", dir_ / "test.sh",
                                  " --sandbox-env SWARM_STATE_PROBE=", state, " --test-cmd 'sh ", dir_ / "test.sh", "'"),
                     &out);
  ASSERT_EQ(status, 0) << "the patch did not land: the sandbox let an attack through, or the run broke\n" << out;
  std::string landed;
  ASSERT_EQ(Shell(absl::StrCat("git -C ", repo, " show swarm/$(git -C ", repo,
                               " for-each-ref --format=%\\(refname:lstrip=3\\) refs/heads/swarm/):report.txt"),
                  &landed),
            0)
      << landed;
  EXPECT_EQ(landed.find("uid=0\n"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("WRITTEN"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("READ"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("SEEN"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("BROKEN"), std::string::npos) << "the agent's git cannot read its repository: " << landed;
  EXPECT_NE(landed.find("done"), std::string::npos) << landed;
  EXPECT_EQ(ReadFile("/proc/sys/kernel/core_pattern"), core_pattern);
}

INSTANTIATE_TEST_SUITE_P(Identities, RootEscapeTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "AsUnprivilegedUser" : "AsRoot";
                         });

}  // namespace
}  // namespace swarm::testing
