#include "sandbox/growth_guard.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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
  std::shared_ptr<void> watch = GuardGrowth(GrowthCap{dir / "t", TreeUsage{~0ull, 10}}, WatchedCommand{}, [&] {
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
  std::shared_ptr<void> watch =
      GuardGrowth(GrowthCap{dir / "t", TreeUsage{1000, ~0ull}}, WatchedCommand{}, [&] { stopped = true; });
  WriteFile(dir / "t/big", std::string(5000, 'x'));
  EXPECT_TRUE(Eventually(stopped));
}

TEST(GrowthGuardTest, ATreeWithinItsLimitOrNoLongerWatchedIsNeverStopped) {
  TempDir dir;
  WriteFile(dir / "in/a", "x");
  WriteFile(dir / "gone/a", "x");
  std::atomic<bool> in_stopped{false}, gone_stopped{false}, marker{false};
  std::shared_ptr<void> in =
      GuardGrowth(GrowthCap{dir / "in", TreeUsage{~0ull, 100}}, WatchedCommand{}, [&] { in_stopped = true; });
  std::shared_ptr<void> gone =
      GuardGrowth(GrowthCap{dir / "gone", TreeUsage{~0ull, 5}}, WatchedCommand{}, [&] { gone_stopped = true; });
  gone.reset();  // its command ended
  for (int i = 0; i < 20; ++i) WriteFile(dir / ("gone/f" + std::to_string(i)), "");
  // A third tree past its limit, to know the guard has gone round since.
  WriteFile(dir / "marker/a", "x");
  for (int i = 0; i < 20; ++i) WriteFile(dir / ("marker/f" + std::to_string(i)), "");
  std::shared_ptr<void> m =
      GuardGrowth(GrowthCap{dir / "marker", TreeUsage{~0ull, 5}}, WatchedCommand{}, [&] { marker = true; });
  ASSERT_TRUE(Eventually(marker));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_FALSE(in_stopped);
  EXPECT_FALSE(gone_stopped);
}

TEST(GrowthGuardTest, DeletedFilesHeldOpenAreCountedOnce) {
  TempDir dir;
  const std::string path = dir / "held";
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  int again = dup(fd);
  ASSERT_EQ(unlink(path.c_str()), 0);
  std::string data(100000, 'x');
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  struct stat st {};
  ASSERT_EQ(stat(dir.path().c_str(), &st), 0);
  TreeUsage held = HeldDeletedFiles(getpid(), {st.st_dev});
  EXPECT_EQ(held.bytes, 100000u);
  EXPECT_EQ(held.entries, 1u);
  EXPECT_EQ(HeldDeletedFiles(getpid(), {st.st_dev + 1}).bytes, 0u) << "another device's";
  close(fd);
  close(again);
  EXPECT_EQ(HeldDeletedFiles(getpid(), {st.st_dev}).bytes, 0u);
}

}  // namespace
}  // namespace swarm
