#include "sandbox/growth_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;

// Waits up to a minute (a loaded machine) for `done`.
bool Eventually(const std::atomic<bool>& done) {
  for (int i = 0; i < 600 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return done;
}

TEST(GrowthGuardTest, ATreePastItsLimitIsStoppedOnce) {
  TempDir dir;
  WriteFile(dir / "t/a", "x");
  std::atomic<int> stops{0};
  std::atomic<bool> stopped{false};
  std::shared_ptr<void> watch = GuardGrowth(GrowthCap{dir / "t", TreeUsage{~0ull, 10}}, [&] {
    ++stops;
    stopped = true;
  });
  for (int i = 0; i < 20; ++i) WriteFile(dir / ("t/f" + std::to_string(i)), "");
  ASSERT_TRUE(Eventually(stopped));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(stops.load(), 1);
}

TEST(GrowthGuardTest, BytesCountToo) {
  TempDir dir;
  WriteFile(dir / "t/a", "x");
  std::atomic<bool> stopped{false};
  std::shared_ptr<void> watch = GuardGrowth(GrowthCap{dir / "t", TreeUsage{1000, ~0ull}}, [&] { stopped = true; });
  WriteFile(dir / "t/big", std::string(5000, 'x'));
  EXPECT_TRUE(Eventually(stopped));
}

TEST(GrowthGuardTest, ATreeWithinItsLimitOrNoLongerWatchedIsNeverStopped) {
  TempDir dir;
  WriteFile(dir / "in/a", "x");
  WriteFile(dir / "gone/a", "x");
  std::atomic<bool> in_stopped{false}, gone_stopped{false}, marker{false};
  std::shared_ptr<void> in = GuardGrowth(GrowthCap{dir / "in", TreeUsage{~0ull, 100}}, [&] { in_stopped = true; });
  std::shared_ptr<void> gone = GuardGrowth(GrowthCap{dir / "gone", TreeUsage{~0ull, 5}}, [&] { gone_stopped = true; });
  gone.reset();  // its command ended
  for (int i = 0; i < 20; ++i) WriteFile(dir / ("gone/f" + std::to_string(i)), "");
  // A third tree past its limit, to know the guard has gone round since.
  WriteFile(dir / "marker/a", "x");
  for (int i = 0; i < 20; ++i) WriteFile(dir / ("marker/f" + std::to_string(i)), "");
  std::shared_ptr<void> m = GuardGrowth(GrowthCap{dir / "marker", TreeUsage{~0ull, 5}}, [&] { marker = true; });
  ASSERT_TRUE(Eventually(marker));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_FALSE(in_stopped);
  EXPECT_FALSE(gone_stopped);
}

}  // namespace
}  // namespace swarm
