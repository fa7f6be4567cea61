#include "sandbox/resource_scope.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;

// A pid that is not alive: a child that has exited and been reaped.
int DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(ResourceScopeTest, ScopeNamesCarryTheCreatorAndItsPidNamespaceAndAreRecognised) {
  std::string name = ResourceScope::NewName();
  std::vector<std::string> part = absl::StrSplit(name, '-');
  ASSERT_EQ(part.size(), 4u) << name;
  EXPECT_EQ(part[0], std::to_string(getpid()));
  EXPECT_TRUE(ResourceScope::IsScopeCgroup("/sys/fs/cgroup/memory/swarm/" + name));
  EXPECT_TRUE(ResourceScope::IsScopeCgroup("/sys/fs/cgroup/swarm/123-abc-4")) << "the earlier form";
  EXPECT_FALSE(ResourceScope::IsScopeCgroup("/sys/fs/cgroup/memory/swarm/../../x"));
}

TEST(ResourceScopeTest, OnlyEmptyScopesOfDeadCreatorsInThisPidNamespaceAreRemoved) {
  testing::TempDir dir;
  std::vector<std::string> mine = absl::StrSplit(ResourceScope::NewName(), '-');
  const std::string ns = mine[1];
  const std::string dead = absl::StrCat(DeadPid(), "-", ns, "-ab-0");
  const std::string alive = absl::StrCat(getpid(), "-", ns, "-ab-1");
  const std::string elsewhere = absl::StrCat(DeadPid(), "-", ns, "9", "-ab-2");  // another pid namespace
  const std::string busy = absl::StrCat(DeadPid(), "-", ns, "-ab-3");
  for (const auto& n : {dead, alive, elsewhere, busy}) fs::create_directories(dir / n);
  testing::WriteFile(dir / busy + "/inside", "a process would be here");  // rmdir fails, as on a busy cgroup
  fs::create_directories(dir / "not-a-scope");
  EXPECT_EQ(ResourceScope::RemoveAbandoned({dir.path()}), 1);
  EXPECT_FALSE(fs::exists(dir / dead));
  for (const auto& n : {alive, elsewhere, busy, std::string("not-a-scope")}) EXPECT_TRUE(fs::exists(dir / n)) << n;
}

}  // namespace
}  // namespace swarm
