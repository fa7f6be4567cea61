// Finding 3 (the control socket part): an agent of a served run tries to reach the server that runs
// it: its control socket placed outside the state directory and outside /tmp (which sandboxes never
// see anyway), its token file, the token in the environment. The agent writes what it could do into
// its patch, which lands; nothing may show. As root and as an unprivileged user the test creates (the
// case where the sandbox has the server's uid, so only hiding protects the socket).
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {
namespace fs = std::filesystem;

// A directory under /var/tmp (seen by sandboxes, unlike /tmp), removed at the end.
class VarTmpDir final {
 public:
  VarTmpDir() {
    char tmpl[] = "/var/tmp/swarm-ctl-XXXXXX";
    path_ = mkdtemp(tmpl) != nullptr ? tmpl : "";
    chmod(path_.c_str(), 0755);
  }
  ~VarTmpDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What the agent tries; each line it writes names something it reached.
// `swarm` is a copy of the client where every sandbox can run it (the build tree may be hidden, under
// /tmp or a home), so that a failure to reach the server is the sandbox's doing.
std::string AgentCommand(const std::string& socket, const std::string& token_file, const std::string& swarm) {
  return absl::StrCat(
      "{ test -e ", socket, " && echo socket=SEEN;",
      "  cat ", token_file, " >/dev/null 2>&1 && echo token_file=READ;",
      "  env | grep -q SWARM_TOKEN && echo token_env=SEEN;",
      "  ", swarm, " --help >/dev/null 2>&1 && echo probe=RUNS;",
      // Any answer but `cannot reach` (exit 3) means the Control API answered the agent.
      "  SWARM_TOKEN=$(cat ", token_file, " 2>/dev/null) ", swarm, " watch no-such-run --server unix:",
      socket, " >/dev/null 2>&1; test $? -ne 3 && echo control=REACHED;",
      "  echo done; } > report.txt");
}

class AgentControlAttacksTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "runs as root, and as a user that root creates";
    ASSERT_FALSE(socket_dir_.path().empty());
    ASSERT_FALSE(token_dir_.path().empty());
    ASSERT_FALSE(client_dir_.path().empty());
    if (GetParam()) {
      user_ = UnprivilegedTestUser();
      ASSERT_NE(user_, nullptr);
      for (const std::string& d : {dir_.path(), socket_dir_.path(), token_dir_.path()}) {
        ASSERT_EQ(chown(d.c_str(), user_->pw_uid, user_->pw_gid), 0) << d;
      }
    }
  }
  // `argv` as the test user (or as root).
  std::vector<std::string> As() const {
    if (!GetParam()) return {};
    return {"setpriv", absl::StrCat("--reuid=", user_->pw_uid), absl::StrCat("--regid=", user_->pw_gid),
            "--clear-groups", "env", "HOME=" + dir_.path()};
  }
  int Shell(const std::string& command, std::string* out) {
    std::string line;
    for (const auto& a : As()) line += a + " ";
    const std::string script = dir_ / absl::StrCat("step-", steps_++, ".sh");
    WriteFile(script, command + "\n");
    return ShStatus(line + "sh " + script, out);
  }

  TempDir dir_;
  VarTmpDir socket_dir_, token_dir_, client_dir_;
  const passwd* user_ = nullptr;
  int steps_ = 0;
};

TEST_P(AgentControlAttacksTest, AnAgentCannotReachItsServersSocketOrToken) {
  const std::string repo = dir_ / "repo";
  const std::string socket = socket_dir_.path() + "/c.sock";
  const std::string token_file = token_dir_.path() + "/token";
  const std::string token(64, '7');
  std::string out;
  ASSERT_EQ(Shell(absl::StrCat("umask 077 && printf '", token, "\\n' > ", token_file, " && git init -q -b main ", repo,
                               " && cd ", repo,
                               " && echo done > report.txt && git add -A && git -c user.name=t -c user.email=t@t "
                               "commit -qm base"),
                  &out),
            0)
      << out;
  // The server also has the token in its environment: it must not pass it on.
  ServeProcess server(dir_ / "state", socket, {"--token-file", token_file, "--allow-repo-root", dir_.path()}, As(),
                      {"SWARM_TOKEN=" + token});
  ASSERT_TRUE(fs::exists(socket));
  const std::string client = client_dir_.path() + "/swarm";
  fs::copy_file(BuildDir() + "/bin/swarm", client);
  WriteFile(dir_ / "agent.sh", AgentCommand(socket, token_file, client));
  int status = Shell(absl::StrCat(BuildDir(), "/bin/swarm run --server unix:", socket, " --token-file ", token_file,
                                  " --repo ", repo, " --shard report.txt --parts 1 --agent-cmd \"$(cat ",
                                  dir_ / "agent.sh", ")\" --test-cmd true"),
                     &out);
  ASSERT_EQ(status, 0) << "the run failed\n" << out;
  std::string landed;
  ASSERT_EQ(Shell(absl::StrCat("git -C ", repo, " show swarm/$(git -C ", repo,
                               " for-each-ref --format=%\\(refname:lstrip=3\\) refs/heads/swarm/):report.txt"),
                  &landed),
            0)
      << landed;
  EXPECT_EQ(landed.find("socket=SEEN"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("token_file=READ"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("token_env=SEEN"), std::string::npos) << landed;
  EXPECT_EQ(landed.find("control=REACHED"), std::string::npos) << landed;
  EXPECT_NE(landed.find("probe=RUNS"), std::string::npos) << "the agent could not run the client\n" << landed;
  EXPECT_NE(landed.find("done"), std::string::npos) << landed;
  EXPECT_EQ(landed.find(token), std::string::npos) << landed;
}

INSTANTIATE_TEST_SUITE_P(Identities, AgentControlAttacksTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "AsUnprivilegedUser" : "AsRoot";
                         });

}  // namespace
}  // namespace swarm::testing
