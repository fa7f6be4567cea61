#include "sandbox/mount_template.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include "sandbox/bubblewrap_sandbox.h"
#include "sandbox/overlay_mount.h"
#include "sandbox/sandbox.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::ReadFile;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;

// Two trees mounted after the template was made, as two attempts' workspaces are on a host.
class MountTemplateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    ASSERT_TRUE(EnterPrivateMountNamespace().ok());
    ASSERT_TRUE(MakeMountTemplate().ok());
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mount namespaces of swarm's own need root (CI runs as root)";
    for (const std::string& tree : {mine_, other_}) {
      std::filesystem::create_directories(tree);
      ASSERT_EQ(mount("swarm-test", tree.c_str(), "tmpfs", 0, "mode=0755,size=1m"), 0) << tree;
    }
    WriteFile(mine_ + "/in.txt", "mine\n");
    WriteFile(other_ + "/in.txt", "other\n");
  }
  void TearDown() override {
    for (const std::string& tree : {mine_, other_}) umount2(tree.c_str(), MNT_DETACH);
  }

  // Under /var/tmp, which the sandbox does not hide (it has a /tmp of its own): only the namespace it
  // starts from keeps the other tree out.
  TempDir dir_{"/var/tmp"};
  const std::string mine_ = dir_ / "mine", other_ = dir_ / "other";
};

TEST_F(MountTemplateTest, AChildStartsInACopyOfTheTemplateWithItsOwnTreesOnly) {
  ASSERT_NE(MountTemplate(), nullptr);
  absl::StatusOr<std::shared_ptr<const OwnedFd>> tree = CloneTree(mine_);
  ASSERT_TRUE(tree.ok()) << tree.status();
  ProcessSpec spec;
  // Passed files take the low descriptors in the child: the namespace's and the tree's must move.
  spec.pass_fds = {std::make_shared<const OwnedFd>(memfd_create("a", MFD_CLOEXEC)),
                   std::make_shared<const OwnedFd>(memfd_create("b", MFD_CLOEXEC))};
  spec.mount_namespace = ProcessSpec::MountNamespace{MountTemplate(), {{*tree, mine_}}};
  spec.cwd = mine_;
  spec.argv = {"/bin/sh", "-c",
               "cat in.txt; echo made > out.txt; grep -c ' " + mine_ + " ' /proc/self/mountinfo; grep -c ' " + other_ +
                   " ' /proc/self/mountinfo; true"};
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "mine\n1\n0\n") << r->err;
  EXPECT_EQ(ReadFile(mine_ + "/out.txt"), "made\n") << "the child writes the tree itself, not a copy";
  // This process's namespace is untouched: both trees are still here.
  EXPECT_EQ(ReadFile(other_ + "/in.txt"), "other\n");
}

TEST_F(MountTemplateTest, ATreeCopyIsAttachedOnce) {
  absl::StatusOr<std::shared_ptr<const OwnedFd>> tree = CloneTree(mine_);
  ASSERT_TRUE(tree.ok()) << tree.status();
  ProcessSpec spec;
  spec.mount_namespace = ProcessSpec::MountNamespace{MountTemplate(), {{*tree, mine_}}};
  spec.argv = {"/bin/true"};
  absl::StatusOr<ProcessResult> first = RunProcess(spec);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<ProcessResult> second = RunProcess(spec);
  ASSERT_FALSE(second.ok()) << "a copy attached once is gone from its descriptor";
  EXPECT_NE(second.status().message().find("mount namespace"), std::string::npos) << second.status();
}

TEST_F(MountTemplateTest, ASandboxedCommandWorksInATreeMountedAfterTheTemplateAndSeesNoOther) {
  absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> sandbox = BubblewrapSandbox::Create();
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  ASSERT_TRUE((*sandbox)->HandOver(mine_).ok());
  SandboxPolicy policy;
  policy.workdir = mine_;
  policy.env = {"PATH=/usr/bin:/bin"};
  policy.timeout = std::chrono::seconds(20);
  // The other tree is where another attempt's workspace would be: not hidden here, so only its
  // absence from the namespace the sandbox was made from keeps it out (its directory is there, empty).
  absl::StatusOr<ProcessResult> r = RunSandboxed(**sandbox, policy,
                                                 "cat in.txt; echo made > out.txt; cat " + other_ +
                                                     "/in.txt 2>&1; grep -c ' " + other_ + " ' /proc/self/mountinfo");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out.substr(0, 5), "mine\n") << r->out << r->err;
  EXPECT_NE(r->out.find("No such file"), std::string::npos) << "the other tree's file was read: " << r->out;
  EXPECT_NE(r->out.find("\n0\n"), std::string::npos) << "the other tree is mounted in the sandbox: " << r->out;
  EXPECT_EQ(ReadFile(mine_ + "/out.txt"), "made\n");
}

}  // namespace
}  // namespace swarm
