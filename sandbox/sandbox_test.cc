#include "sandbox/sandbox.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "sandbox/bubblewrap_sandbox.h"
#include "sandbox/unsandboxed_runner.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::ReadFile;
using ::swarm::testing::ShStatus;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;

std::unique_ptr<Sandbox> MakeSandbox(const std::string& name) {
  if (name == "none") return std::make_unique<UnsandboxedRunner>();
  auto bwrap = BubblewrapSandbox::Create();
  EXPECT_TRUE(bwrap.ok()) << bwrap.status();
  return bwrap.ok() ? std::move(*bwrap) : nullptr;
}

class SandboxFixture : public ::testing::Test {
 protected:
  void Init(const std::string& name) {
    sandbox_ = MakeSandbox(name);
    ASSERT_NE(sandbox_, nullptr);
    WriteFile(dir_ / "work/in.txt", "hello\n");
    ASSERT_TRUE(sandbox_->HandOver(dir_ / "work").ok());
    policy_.workdir = dir_ / "work";
    policy_.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "ALLOWED=yes"};
    policy_.timeout = std::chrono::seconds(20);
  }
  ProcessResult Run(const std::string& command) {
    absl::StatusOr<ProcessResult> r = RunSandboxed(*sandbox_, policy_, command);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ProcessResult{};
  }

  TempDir dir_;
  SandboxPolicy policy_;
  std::unique_ptr<Sandbox> sandbox_;
};

class EverySandboxTest : public SandboxFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { Init(GetParam()); }
};

TEST_P(EverySandboxTest, RunsInWorkdirWithExitStatusAndOutput) {
  ProcessResult r = Run("cat in.txt; echo oops >&2; echo made > out.txt; exit 3");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(ReadFile(dir_ / "work/out.txt"), "made\n");
}

TEST_P(EverySandboxTest, EnvironmentIsOnlyTheAllowList) {
  setenv("SWARM_SECRET_FOR_TEST", "leak", 1);
  ProcessResult r = Run("env | sort");
  unsetenv("SWARM_SECRET_FOR_TEST");
  EXPECT_NE(r.out.find("ALLOWED=yes"), std::string::npos);
  EXPECT_EQ(r.out.find("SWARM_SECRET_FOR_TEST"), std::string::npos) << r.out;
}

TEST_P(EverySandboxTest, OutputIsCappedKeepingHeadAndTail) {
  policy_.output_cap = 1000;
  ProcessResult r = Run("seq 1 100000");
  EXPECT_LT(r.out.size(), 1100u);
  EXPECT_TRUE(r.output_truncated);
  EXPECT_EQ(r.out.rfind("1\n2\n3\n", 0), 0u) << "the head is kept";
  EXPECT_NE(r.out.find("99999\n100000\n"), std::string::npos) << "the tail is kept, where failures are";
  EXPECT_NE(r.out.find("bytes of output omitted"), std::string::npos);
}

TEST_P(EverySandboxTest, ProcessTreeOutlivingTimeoutIsKilledEntirely) {
  policy_.timeout = std::chrono::milliseconds(1500);
  std::string marker = "3600.4242" + std::to_string(getpid());
  ProcessResult r = Run("sleep " + marker + " & (sleep " + marker + " &) ; sleep " + marker);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  // Nothing of the tree survives, including the grandchild that left the shell.
  int alive = 0;
  for (int i = 0; i < 100; ++i) {
    alive = ShStatus("pgrep -f 'slee[p] " + marker + "' >/dev/null");
    if (alive != 0) break;
    usleep(20000);
  }
  EXPECT_NE(alive, 0) << "a process of the timed-out tree is still running";
}

INSTANTIATE_TEST_SUITE_P(Sandboxes, EverySandboxTest, ::testing::Values("bubblewrap", "none"));

class BubblewrapTest : public SandboxFixture {
 protected:
  void SetUp() override { Init("bubblewrap"); }
};

TEST_F(BubblewrapTest, HasNoCapabilities) {
  ProcessResult r = Run("grep CapEff /proc/self/status");
  EXPECT_EQ(r.out, "CapEff:\t0000000000000000\n");
}

TEST_F(BubblewrapTest, RootCannotBeRemountedWritable) {
  std::string probe = "/usr/swarm-sandbox-probe-" + std::to_string(getpid());
  ProcessResult r = Run("mount -o remount,rw / 2>&1; touch " + probe + " 2>&1; echo rc=$?");
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(probe));
}

TEST_F(BubblewrapTest, HiddenPathsAndHomeCannotBeRead) {
  WriteFile(dir_ / "state/swarm.db", "database");
  WriteFile(dir_ / "sibling/secret.c", "other workspace");
  WriteFile(dir_ / "home/.ssh/id", "key");
  policy_.hidden_paths = {dir_ / "state", dir_ / "sibling", dir_ / "home"};
  ProcessResult r = Run("cat " + (dir_ / "state/swarm.db") + " " + (dir_ / "sibling/secret.c") + " " +
                        (dir_ / "home/.ssh/id") + " 2>&1; ls -A " + (dir_ / "home"));
  EXPECT_EQ(r.out.find("database"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("other workspace"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("key"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No such file"), std::string::npos) << r.out;
}

TEST_F(BubblewrapTest, HiddenHomeIsWritableScratch) {
  WriteFile(dir_ / "home/keep", "x");
  policy_.hidden_paths = {dir_ / "home"};
  policy_.env.push_back("HOME=" + (dir_ / "home"));
  ProcessResult r = Run("echo cache > $HOME/.cache && cat $HOME/.cache");
  EXPECT_EQ(r.out, "cache\n");
  EXPECT_EQ(ReadFile(dir_ / "home/keep"), "x");  // the real one is untouched
  EXPECT_FALSE(std::filesystem::exists(dir_ / "home/.cache"));
}

TEST_F(BubblewrapTest, CoordinatorSocketCannotBeReached) {
  std::string sock = dir_ / "run/agent.sock";
  std::filesystem::create_directories(dir_ / "run");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  std::string probe = swarm::testing::BuildDir() + "/sandbox/sandbox_probe";
  // Outside the sandbox the probe connects, so a failure inside means isolation, not a broken probe.
  ASSERT_EQ(ShStatus(probe + " connect-unix " + sock), 0);
  policy_.ro_binds = {probe};  // the build tree may itself live under /tmp
  policy_.hidden_paths = {dir_ / "run"};
  ProcessResult r = Run(probe + " connect-unix " + sock);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Even a path left visible is useless from another network namespace for abstract sockets, and
  // the file itself is hidden here; the tmp directory is private too.
  policy_.hidden_paths.clear();
  r = Run(probe + " connect-unix " + sock);
  EXPECT_EQ(r.exit_code, 1) << "the socket under /tmp must be hidden by the private /tmp: " << r.out;
  close(fd);
}

TEST_F(BubblewrapTest, SocketsUnderRunAreHidden) {
  // D-Bus, docker, ssh-agent and friends listen on sockets under /run.
  std::string sock = "/run/swarm-probe-" + std::to_string(getpid()) + ".sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) GTEST_SKIP() << "cannot bind under /run here";
  ASSERT_EQ(listen(fd, 4), 0);
  std::string probe = swarm::testing::BuildDir() + "/sandbox/sandbox_probe";
  ASSERT_EQ(ShStatus(probe + " connect-unix " + sock), 0);
  policy_.ro_binds = {probe};
  ProcessResult r = Run(probe + " connect-unix " + sock);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  close(fd);
  unlink(sock.c_str());
}

// With a network (--agent-network) or without, the host's loopback is another namespace's.
TEST_F(BubblewrapTest, HostLoopbackIsUnreachableWithOrWithoutANetwork) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));
  std::string probe = swarm::testing::BuildDir() + "/sandbox/sandbox_probe";
  ASSERT_EQ(ShStatus(probe + " connect-tcp 127.0.0.1 " + port), 0);
  policy_.ro_binds = {probe};
  ProcessResult r = Run(probe + " connect-tcp 127.0.0.1 " + port);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  policy_.network = true;  // the explicit opt-in for agent commands
  r = Run(probe + " connect-tcp 127.0.0.1 " + port);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  close(fd);
}

// PATH as `dir` alone while a sandbox is created, so that it finds only what is there.
std::unique_ptr<BubblewrapSandbox> SandboxWithPath(const std::string& dir) {
  std::string saved = getenv("PATH");
  setenv("PATH", dir.c_str(), 1);
  auto bwrap = BubblewrapSandbox::Create();
  setenv("PATH", saved.c_str(), 1);
  EXPECT_TRUE(bwrap.ok()) << bwrap.status();
  return bwrap.ok() ? std::move(*bwrap) : nullptr;
}

// A directory for PATH with bubblewrap's tools, where the sandbox sees it too (setpriv runs inside).
std::string ToolDir(const std::string& dir) {
  for (const char* tool : {"bwrap", "setpriv"}) std::filesystem::create_symlink(FindInPath(tool), dir + "/" + tool);
  return dir;
}

TEST_F(BubblewrapTest, ANetworkWithoutSlirp4netnsIsRefusedWithTheFix) {
  std::unique_ptr<BubblewrapSandbox> sandbox = SandboxWithPath(ToolDir(dir_ / "work"));
  ASSERT_NE(sandbox, nullptr);
  EXPECT_TRUE(RunSandboxed(*sandbox, policy_, "true").ok()) << "commands without a network need no slirp4netns";
  policy_.network = true;
  absl::StatusOr<ProcessResult> r = RunSandboxed(*sandbox, policy_, "true");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("apt-get install slirp4netns"), std::string::npos) << r.status();
  absl::Status check = sandbox->CheckNetwork();
  EXPECT_NE(check.message().find("apt-get install slirp4netns"), std::string::npos) << check;
}

// A command must never run with less network than it was promised, nor silently without one.
TEST_F(BubblewrapTest, ACommandWhoseNetworkCannotBeHadNeverRuns) {
  std::string bin = ToolDir(dir_ / "work");
  WriteFile(bin + "/slirp4netns", "#!/bin/sh\necho 'cannot attach the tap device' >&2\nexit 1\n");
  ASSERT_EQ(chmod((bin + "/slirp4netns").c_str(), 0755), 0);
  std::unique_ptr<BubblewrapSandbox> sandbox = SandboxWithPath(bin);
  ASSERT_NE(sandbox, nullptr);
  policy_.network = true;
  absl::StatusOr<ProcessResult> r = RunSandboxed(*sandbox, policy_, "echo RAN; touch ran");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->out.find("RAN"), std::string::npos) << r->out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "work/ran"));
  EXPECT_NE(r->err.find("network could not be brought up"), std::string::npos) << r->err;
  EXPECT_NE(r->err.find("cannot attach the tap device"), std::string::npos) << r->err;
  absl::Status check = sandbox->CheckNetwork();
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(check.message().find("cannot attach the tap device"), std::string::npos) << check;
}

TEST_F(BubblewrapTest, ForkBombStopsAtProcessLimit) {
  policy_.limits.max_processes = 24;
  policy_.timeout = std::chrono::seconds(20);
  // dash reports a failed fork at once instead of retrying.
  ProcessResult r = Run("i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done; echo spawned-all");
  // With a cgroup (pids.max) or without (RLIMIT_NPROC in the command's own user namespace).
  EXPECT_NE(r.err.find("Cannot fork"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("spawned-all"), std::string::npos);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(BubblewrapTest, FileSizeLimitStopsAHugeWrite) {
  policy_.limits.max_file_bytes = 1 << 20;
  ProcessResult r = Run("head -c 5000000 /dev/zero > big; echo rc=$?");
  EXPECT_LE(std::filesystem::file_size(dir_ / "work/big"), 1u << 20);
}

}  // namespace
}  // namespace swarm
