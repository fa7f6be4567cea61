#include "orchestrator/store/run_lock.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace swarm
