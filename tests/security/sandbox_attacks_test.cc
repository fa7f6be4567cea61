// Attacks from inside a sandboxed command (findings 1, 6 and 7 of docs/SECURITY.md), performed for
// real under bubblewrap. Each test runs as whoever runs the suite (root in CI), and the suite runs
// once more as an unprivileged user it creates (AsUnprivilegedUser), so both identities are covered.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sandbox/bubblewrap_sandbox.h"
#include "sandbox/resource_scope.h"
#include "sandbox/sandbox_identity.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::ReadFile;
using ::swarm::testing::ShStatus;
using ::swarm::testing::TempDir;
using ::swarm::testing::Trim;
using ::swarm::testing::WriteFile;

constexpr char kNestedVariable[] = "SWARM_SECURITY_TEST_NESTED";
constexpr char kNoCgroupsVariable[] = "SWARM_SECURITY_TEST_NO_CGROUPS";

class SandboxAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bwrap = BubblewrapSandbox::Create();
    ASSERT_TRUE(bwrap.ok()) << bwrap.status();
    sandbox_ = std::move(*bwrap);
    std::filesystem::create_directories(dir_ / "work");
    // The probe is copied into the work tree: the build tree may be where the sandbox user cannot go.
    std::filesystem::copy_file(swarm::testing::BuildDir() + "/sandbox/sandbox_probe", dir_ / "work/probe");
    ASSERT_TRUE(sandbox_->HandOver(dir_ / "work").ok());
    policy_.workdir = dir_ / "work";
    policy_.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"};
    policy_.timeout = std::chrono::seconds(30);
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

// Inside, the command is an ordinary user; outside, what it creates belongs to an unprivileged uid
// (the host's view is the one that matters: user namespaces may be nested, so no map read inside says it).
TEST_F(SandboxAttack, CommandsNeverRunAsTheHostsRoot) {
  ProcessResult r = Run("id -u; id -g; touch made-by-the-command");
  ASSERT_TRUE(r.ok()) << r.err;
  std::vector<std::string> lines = absl::StrSplit(Trim(r.out), '\n');
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[0], "0") << "the command is root inside the sandbox";
  EXPECT_NE(lines[1], "0") << "the command's group is root's";
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "work/made-by-the-command").c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u) << "the command ran as the host's root";
  EXPECT_NE(st.st_gid, 0u);
  absl::StatusOr<SandboxIdentity> identity = SandboxIdentity::ForThisProcess();
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(st.st_uid, identity->uid);
  if (geteuid() == 0) {
    passwd* pw = getpwuid(st.st_uid);
    ASSERT_NE(pw, nullptr);
    EXPECT_STREQ(pw->pw_name, kSandboxUser);
  }
}

// The attack that reached host root: a pipe in kernel.core_pattern runs as root in the host's
// namespaces when any process dumps core.
TEST_F(SandboxAttack, CorePatternCannotBeWritten) {
  const std::string before = ReadFile("/proc/sys/kernel/core_pattern");
  ProcessResult r = Run(
      "printf '#!/bin/sh\\nid > /tmp/owned\\n' > evil.sh; chmod +x evil.sh;"
      "echo \"|$PWD/evil.sh\" > /proc/sys/kernel/core_pattern && echo WROTE;"
      "echo 1 > /proc/sys/kernel/core_uses_pid && echo WROTE2;"
      "echo h > /proc/sysrq-trigger && echo WROTE3; true");
  EXPECT_EQ(r.out.find("WROTE"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(ReadFile("/proc/sys/kernel/core_pattern"), before);
}

TEST_F(SandboxAttack, ProcSysIsReadOnlyWhateverTheUid) {
  ProcessResult r = Run("grep -w /proc/sys /proc/self/mounts");
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  EXPECT_NE(r.out.find(" ro,"), std::string::npos) << r.out;
}

TEST_F(SandboxAttack, RootOnlyFilesCannotBeRead) {
  if (geteuid() != 0) GTEST_SKIP() << "only root has root-only files to protect";
  // A file only root may read, in a folder the sandbox can see.
  WriteFile(dir_ / "private/secret", "provider-key-1234\n");
  chmod((dir_ / "private").c_str(), 0700);
  chmod((dir_ / "private/secret").c_str(), 0600);
  policy_.ro_binds = {dir_ / "private"};
  ProcessResult r = Run("cat /etc/shadow " + (dir_ / "private/secret") + " 2>&1; cat /proc/1/environ 2>&1; true");
  EXPECT_EQ(r.out.find("root:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("provider-key-1234"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
}

TEST_F(SandboxAttack, TreesNotHandedOverAreReadOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "an ordinary user's sandbox writes as that user";
  std::filesystem::create_directories(dir_ / "kept");
  policy_.workdir = dir_ / "kept";
  ProcessResult r = Run("echo x > planted 2>&1; echo rc=$?");
  EXPECT_NE(r.out.find("rc=2"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "kept/planted"));
}

std::map<std::string, std::string> Syscalls(const ProcessResult& r) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() == 2) out[parts[0]] = parts[1];
  }
  return out;
}

TEST_F(SandboxAttack, SeccompRefusesWhatACommandNeverNeeds) {
  ProcessResult r = Run("./probe syscalls");
  ASSERT_TRUE(r.ok()) << r.out << r.err;
  std::map<std::string, std::string> got = Syscalls(r);
  const std::string enosys = absl::StrCat("errno=", ENOSYS);
  const std::string eperm = absl::StrCat("errno=", EPERM);
  for (const char* call : {"io_uring_setup", "bpf", "keyctl", "add_key", "request_key", "userfaultfd",
                           "perf_event_open", "ptrace", "mount", "setns", "chroot", "clone3", "socket_vsock"}) {
    EXPECT_EQ(got[call], enosys) << call;
  }
  // Namespaces are refused as an unprivileged caller is: EPERM.
  EXPECT_EQ(got["unshare_user"], eperm);
  EXPECT_EQ(got["unshare_mount"], eperm);
  // What ordinary programs need still works: Unix sockets (the model endpoint), threads (glibc falls
  // back from clone3 to clone on ENOSYS), processes.
  for (const char* call : {"socket_unix", "socket_inet", "personality_query", "pthread_create", "fork"}) {
    EXPECT_EQ(got[call], "ok") << call;
  }
}

// The keyring attack: link the invoking user's keyring into the session keyring and read a key.
TEST_F(SandboxAttack, KernelKeyringIsUnreachable) {
  ProcessResult r = Run("./probe syscalls");
  std::map<std::string, std::string> got = Syscalls(r);
  EXPECT_NE(got["keyctl"], "ok");
  EXPECT_NE(got["add_key"], "ok");
  EXPECT_NE(got["request_key"], "ok");
}

TEST_F(SandboxAttack, NoNestedUserNamespace) {
  ProcessResult r = Run("unshare --user --map-root-user id -u 2>&1; echo rc=$?");
  EXPECT_EQ(r.out.find("rc=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc="), std::string::npos) << r.out;
}

TEST_F(SandboxAttack, AnotherAbiIsKilled) {
  ProcessResult r = Run("./probe x32; echo status=$?");
  EXPECT_EQ(r.out.find("x32 call returned"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(absl::StrCat("status=", 128 + SIGSYS)), std::string::npos) << r.out;
}

// A fork bomb stops at its own command's process limit, and takes nothing from another command's:
// every sandboxed command has the same uid, so a limit counted per uid (RLIMIT_NPROC where no cgroup
// can be written) would let one agent's bomb starve every other agent of processes; as root, with no
// writable cgroup, the bomb was not limited at all. Runs as root with cgroups, as root without any
// (ProcessLimitsHoldWithoutWritableCgroups), and as an ordinary user (never any cgroup).
TEST_F(SandboxAttack, AForkBombStarvesNoOtherCommand) {
  if (getenv(kNoCgroupsVariable) != nullptr) {
    EXPECT_EQ(ResourceScope::ProbeMode(), "rlimit");
  }
  policy_.limits.max_processes = 16;
  ProcessResult bomb, victim;
  std::thread bomber([&] {
    // The bomb's processes stay until the end (exec: the last command needs no fork of its own).
    bomb = Run("(i=0; while [ $i -lt 300 ]; do sleep 8 & i=$((i+1)); done; echo spawned-all); exec sleep 4");
  });
  std::thread other([&] {
    victim = Run("sleep 1; i=0; while [ $i -lt 10 ]; do sleep 2 & i=$((i+1)); done; echo spawned-all; wait");
  });
  bomber.join();
  other.join();
  EXPECT_EQ(bomb.out.find("spawned-all"), std::string::npos) << "the bomb was not limited";
  EXPECT_NE(bomb.err.find("Cannot fork"), std::string::npos) << bomb.err;
  EXPECT_TRUE(victim.ok()) << victim.Describe() << victim.err;
  EXPECT_NE(victim.out.find("spawned-all"), std::string::npos) << victim.err;
}

// As root where no cgroup can be written (a container that mounts /sys/fs/cgroup read-only): the
// process limit still holds per command. The suite runs again in a mount namespace of its own where
// /sys/fs/cgroup is an empty, read-only file system.
TEST(SandboxAttackWithoutCgroups, ProcessLimitsHoldWithoutWritableCgroups) {
  if (getenv(kNestedVariable) != nullptr || getenv(kNoCgroupsVariable) != nullptr) GTEST_SKIP() << "already nested";
  if (geteuid() != 0) GTEST_SKIP() << "hiding the cgroups needs root; an ordinary user has none to write anyway";
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  std::string out;
  int status = ShStatus(absl::StrCat("unshare --mount --propagation private sh -c 'mount -t tmpfs -o ro swarm-none "
                                     "/sys/fs/cgroup && exec env ",
                                     kNoCgroupsVariable, "=1 SWARM_BUILD_DIR=", swarm::testing::BuildDir(), " ", self,
                                     " --gtest_filter=SandboxAttack.*'"),
                        &out);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 10 tests."), std::string::npos) << out;
}

// The whole suite again as an ordinary user, created for the purpose: the sandbox must hold there too.
TEST(SandboxAttackAsUser, AsUnprivilegedUser) {
  if (getenv(kNestedVariable) != nullptr) GTEST_SKIP() << "already the unprivileged run";
  if (geteuid() != 0) GTEST_SKIP() << "creating a user needs root; this run is already unprivileged";
  const passwd* pw = swarm::testing::UnprivilegedTestUser();
  ASSERT_NE(pw, nullptr);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  std::string out;
  int status = ShStatus(absl::StrCat("env ", kNestedVariable, "=1 SWARM_BUILD_DIR=", swarm::testing::BuildDir(),
                                     " HOME=/tmp setpriv --reuid=", pw->pw_uid, " --regid=", pw->pw_gid,
                                     " --clear-groups ", self, " --gtest_filter='SandboxAttack.*'"),
                        &out);
  EXPECT_EQ(status, 0) << out;
  // Every attack ran (the two about root's own files are skipped for an ordinary user).
  EXPECT_NE(out.find("[  PASSED  ] 8 tests."), std::string::npos) << out;
}

}  // namespace
}  // namespace swarm
