#include "orchestrator/store/run_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testing/test_util.h"

namespace swarm {
namespace {

TEST(RunLockTest, AFreeLockHasNoHolderAndALiveOneIsNamed) {
  testing::TempDir dir;
  EXPECT_EQ(RunLock::Holder(dir.path()), 0);
  {
    absl::StatusOr<RunLock> lock = RunLock::Acquire(dir.path());
    ASSERT_TRUE(lock.ok()) << lock.status();
    EXPECT_EQ(RunLock::Holder(dir.path()), getpid());
    absl::StatusOr<RunLock> second = RunLock::Acquire(dir.path());
    ASSERT_FALSE(second.ok());
    EXPECT_NE(std::string(second.status().message()).find("in use"), std::string::npos) << second.status();
  }
  EXPECT_EQ(RunLock::Holder(dir.path()), 0);
}

// A coordinator killed while a child it had just forked had not yet exec'd: the child still holds the
// lock's descriptor for a moment. The run is dead, and a resume at once must see it so.
TEST(RunLockTest, ADeadOwnersChildThatHasNotExecdIsWaitedOut) {
  testing::TempDir dir;
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    absl::StatusOr<RunLock> lock = RunLock::Acquire(dir.path());
    if (!lock.ok()) _exit(1);
    if (fork() == 0) {  // keeps the descriptor, as a child before its exec does
      usleep(300'000);
      _exit(0);
    }
    _exit(0);  // the owner dies first
  }
  int status = 0;
  ASSERT_EQ(waitpid(owner, &status, 0), owner);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(RunLock::Holder(dir.path()), 0) << "the dead owner's run was taken for a live one";
  absl::StatusOr<RunLock> taken = RunLock::Acquire(dir.path());
  EXPECT_TRUE(taken.ok()) << taken.status();
}

}  // namespace
}  // namespace swarm
