#include "sandbox/resource_scope.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "sandbox/process.h"
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

TEST(ResourceScopeTest, OnlyScopesOfDeadCreatorsInThisPidNamespaceAreRemoved) {
  testing::TempDir dir;
  std::vector<std::string> mine = absl::StrSplit(ResourceScope::NewName(), '-');
  const std::string ns = mine[1];
  const std::string dead = absl::StrCat(DeadPid(), "-", ns, "-ab-0");
  const std::string alive = absl::StrCat(getpid(), "-", ns, "-ab-1");
  const std::string elsewhere = absl::StrCat(DeadPid(), "-", ns, "9", "-ab-2");  // another pid namespace
  const std::string busy = absl::StrCat(DeadPid(), "-", ns, "-ab-3");
  for (const auto& n : {dead, alive, elsewhere, busy}) fs::create_directories(dir / n);
  testing::WriteFile(dir / busy + "/inside", "not a cgroup");  // rmdir fails: a plain directory that is not empty
  fs::create_directories(dir / "not-a-scope");
  EXPECT_EQ(ResourceScope::RemoveAbandoned({dir.path()}), 1);
  EXPECT_FALSE(fs::exists(dir / dead));
  for (const auto& n : {alive, elsewhere, busy, std::string("not-a-scope")}) EXPECT_TRUE(fs::exists(dir / n)) << n;
}

// A process left in a scope whose creator died (started, but not yet written down, when its starter was
// killed) runs unsupervised: it is killed, and its cgroup removed.
TEST(ResourceScopeTest, WhatIsLeftInAScopeOfADeadCreatorIsKilled) {
  if (ResourceScope::ProbeMode() != "cgroup") GTEST_SKIP() << "no writable cgroup here";
  // A scope as a killed process would have left it: made, then its creator gone.
  std::vector<std::string> dirs;
  const pid_t creator = fork();
  ASSERT_GE(creator, 0);
  if (creator == 0) _exit(0);
  ASSERT_EQ(waitpid(creator, nullptr, 0), creator);
  std::unique_ptr<ResourceScope> made = ResourceScope::Create(ResourceLimits{});
  std::vector<std::string> part = absl::StrSplit(fs::path(made->CgroupDirs().at(0)).filename().string(), '-');
  const std::string name = absl::StrCat(creator, "-", part[1], "-ab-", part[3]);
  for (const auto& d : made->CgroupDirs()) {
    dirs.push_back((fs::path(d).parent_path() / name).string());
    ASSERT_EQ(mkdir(dirs.back().c_str(), 0755), 0) << dirs.back();
  }
  made.reset();
  int report[2];  // the child's pid, once it has exec'd
  ASSERT_EQ(pipe(report), 0);
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo $$ >&3; exec sleep 600"};
  spec.die_with_parent = false;  // left behind, as by a starter that died
  spec.pass_fds = {std::make_shared<const OwnedFd>(report[1])};
  for (const auto& d : dirs) spec.join_cgroup_procs.push_back(d + "/cgroup.procs");
  boost::asio::io_context io;
  bool done = false;
  ASSERT_TRUE(StartProcess(io, spec, [&](absl::StatusOr<ProcessResult> r) { done = true; }).ok());
  spec.pass_fds.clear();
  char buf[32] = {};
  ASSERT_GT(read(report[0], buf, sizeof buf - 1), 0);
  close(report[0]);
  EXPECT_GE(ResourceScope::RemoveAbandoned(), static_cast<int>(dirs.size()));
  io.run_for(std::chrono::seconds(30));  // returns once the child is reaped
  EXPECT_TRUE(done) << "the process left in the scope is still running";
  if (!done) {
    kill(atoi(buf), SIGKILL);
    io.run();
  }
  for (const auto& d : dirs) EXPECT_FALSE(fs::exists(d)) << d;
}

}  // namespace
}  // namespace swarm
