#include "orchestrator/run/host_registration.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(HostRegistrationTest, HostsAreToldTheRunsLimitsInBytesAndTheSandboxOfTheirCommands) {
  PreparedRun run;
  run.run_id = "r1";
  run.config.agent_command = "./agent.sh";
  run.config.max_patch_mb = 3;
  run.config.max_patch_expanded_mb = 5;
  run.config.max_patch_files = 7;
  run.config.max_workspace_mb = 11;
  run.config.max_workspace_files = 13;
  run.config.heartbeat_interval_s = 2;
  run.config.agent_network = true;
  run.config.sandbox_ro_binds = {"/opt/tools"};
  run.sandbox_env = {"LANG=C"};
  RunLayout layout;
  layout.hidden_paths = {"/state", "/home/u"};
  layout.workspace_root = "/dev/shm/swarm-r1";
  layout.tree_growth_bytes = 11 << 20;  // as PlaceWorkspaces sets them: the flags, or a share
  layout.tree_growth_files = 13;
  layout.sandbox_home = "/home/u";
  layout.ledger_dir = "/state/runs/r1/pids";

  v1::CoordinatorMessage m = Registration(run, layout, "/state/runs/r1/integration.git", true, nullptr);
  ASSERT_TRUE(m.has_registered());
  const v1::Registered& r = m.registered();
  EXPECT_EQ(r.run_id(), "r1");
  EXPECT_EQ(r.integration_git_dir(), "/state/runs/r1/integration.git");
  EXPECT_EQ(r.agent().command(), "./agent.sh");
  EXPECT_EQ(r.agent().max_patch_bytes(), 3u << 20);
  EXPECT_EQ(r.agent().max_patch_growth_bytes(), 5u << 20);
  EXPECT_EQ(r.agent().max_patch_added_files(), 7u);
  EXPECT_EQ(r.agent().max_workspace_growth_bytes(), 11u << 20);
  EXPECT_EQ(r.agent().max_workspace_growth_files(), 13u);
  EXPECT_EQ(r.heartbeat_interval_ms(), 2000u);
  EXPECT_EQ(r.pid_ledger_dir(), "/state/runs/r1/pids");
  EXPECT_TRUE(r.sandbox().enabled());
  EXPECT_TRUE(r.sandbox().network());
  EXPECT_EQ(std::vector<std::string>(r.sandbox().hidden_paths().begin(), r.sandbox().hidden_paths().end()),
            layout.hidden_paths);
  EXPECT_EQ(r.sandbox().ro_binds(0), "/opt/tools");
  EXPECT_EQ(r.sandbox().env(0), "LANG=C");
  EXPECT_EQ(r.sandbox().home(), "/home/u");
  EXPECT_EQ(r.model(), "") << "no model: the hosts run command agents";
}

TEST(HostRegistrationTest, WithAModelHostsLearnItsNameAndWindowButNeverItsKey) {
  PreparedRun run;
  ResolvedModel model;
  model.ref = "deepseek:deepseek-chat";
  model.api_key = "sk-secret";
  model.info.context_window = 64000;
  model.info.max_output_tokens = 8000;
  v1::CoordinatorMessage m = Registration(run, RunLayout{}, "/g", false, &model);
  EXPECT_EQ(m.registered().model(), "deepseek:deepseek-chat");
  EXPECT_EQ(m.registered().context_window(), 64000u);
  EXPECT_EQ(m.registered().max_output_tokens(), 8000u);
  EXPECT_FALSE(m.registered().sandbox().enabled());
  EXPECT_EQ(m.SerializeAsString().find("sk-secret"), std::string::npos);
}

}  // namespace
}  // namespace swarm
