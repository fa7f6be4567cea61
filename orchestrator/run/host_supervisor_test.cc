#include "orchestrator/run/host_supervisor.h"

#include <gtest/gtest.h>

#include "orchestrator/run/fake_host_launcher.h"

namespace swarm {
namespace {

TEST(SpreadSlotsTest, OneHostPer256AgentsUnlessToldAndTheFirstHostsTakeTheRemainder) {
  EXPECT_EQ(SpreadSlots(4, 0), (std::vector<int>{4}));
  EXPECT_EQ(SpreadSlots(256, 0), (std::vector<int>{256}));
  EXPECT_EQ(SpreadSlots(257, 0), (std::vector<int>{129, 128}));
  EXPECT_EQ(SpreadSlots(1000, 0), (std::vector<int>{250, 250, 250, 250}));
  EXPECT_EQ(SpreadSlots(5, 2), (std::vector<int>{3, 2}));
}

TEST(HostSupervisorTest, StartsTheHostsAndCountsThemUntilTheyExit) {
  FakeHostLauncher launcher;
  std::vector<std::string> exits;
  HostSupervisor hosts(launcher, [&](const std::string& id, const HostLauncher::Exit& exit) {
    exits.push_back(id + ": " + exit.how);
  });
  ASSERT_TRUE(hosts.StartAll(5, 2).ok());
  EXPECT_EQ(launcher.running(), (std::map<std::string, int>{{"host-1", 3}, {"host-2", 2}}));
  EXPECT_EQ(hosts.running(), 2);
  launcher.End("host-2");
  EXPECT_EQ(hosts.running(), 1);
  EXPECT_EQ(exits, (std::vector<std::string>{"host-2: exit 0"}));
}

TEST(HostSupervisorTest, StopKillsOnlyARunningHostAndStopAllTheRest) {
  FakeHostLauncher launcher;
  int exited = 0;
  HostSupervisor hosts(launcher, [&](const std::string&, const HostLauncher::Exit&) { ++exited; });
  ASSERT_TRUE(hosts.StartAll(6, 3).ok());
  hosts.Stop("host-2");
  hosts.Stop("host-2");
  hosts.Stop("host-9");
  EXPECT_EQ(launcher.killed(), (std::set<std::string>{"host-2"}));
  launcher.End("host-2", "killed by signal 9");  // its exit arrives later
  EXPECT_EQ(hosts.running(), 2);
  hosts.StopAll();
  EXPECT_EQ(launcher.killed(), (std::set<std::string>{"host-1", "host-2", "host-3"}));
  for (const char* id : {"host-1", "host-3"}) launcher.End(id, "killed by signal 9");
  EXPECT_EQ(hosts.running(), 0);
  EXPECT_EQ(exited, 3);
}

TEST(HostSupervisorTest, AHostThatCannotStartIsAnError) {
  FakeHostLauncher launcher;
  launcher.FailLaunches("no such file: swarm-agent");
  HostSupervisor hosts(launcher, [](const std::string&, const HostLauncher::Exit&) {});
  absl::Status st = hosts.StartAll(4, 0);
  EXPECT_EQ(st.message(), "no such file: swarm-agent");
  EXPECT_EQ(hosts.running(), 0);
}

}  // namespace
}  // namespace swarm
