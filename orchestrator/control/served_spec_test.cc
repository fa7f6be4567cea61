#include "orchestrator/control/served_spec.h"

#include <filesystem>

#include "gtest/gtest.h"

namespace swarm {
namespace {

// A client's run gets no binds it was not allowed: the files a local `swarm run` shows its agents
// (agent_files) are refused outright from a client, whatever they name.
TEST(ServedSpecTest, AClientCannotSendTheFilesALocalRunShowsItsAgents) {
  const std::string root = std::filesystem::temp_directory_path().string();
  ServePolicy policy;
  policy.repo_roots = {root};
  v1::RunSpec spec;
  spec.set_repo(root);
  spec.set_agent_command("./do-subtask.sh");
  v1::FileBind* bind = spec.add_agent_files();
  bind->set_source("/etc/hostname");
  bind->set_dest("do-subtask.sh");
  absl::StatusOr<RunConfig> config = ConfigForServedSpec(spec, policy, "/var/lib/swarm");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kPermissionDenied) << config.status();
  EXPECT_NE(config.status().message().find("agent_files"), std::string::npos) << config.status();
  spec.clear_agent_files();
  config = ConfigForServedSpec(spec, policy, "/var/lib/swarm");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->agent_files.empty());
  EXPECT_FALSE(config->show_command_files) << "a client's run is only checked, never given binds";
}

// A build cache is a directory of the server's that test runs write: never a client's to name.
TEST(ServedSpecTest, AClientCannotGiveTestRunsABuildCache) {
  const std::string root = std::filesystem::temp_directory_path().string();
  ServePolicy policy;
  policy.repo_roots = {root};
  v1::RunSpec spec;
  spec.set_repo(root);
  spec.set_build_cache(root);
  absl::StatusOr<RunConfig> config = ConfigForServedSpec(spec, policy, "/var/lib/swarm");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kPermissionDenied) << config.status();
  EXPECT_NE(config.status().message().find("build_cache"), std::string::npos) << config.status();
}

}  // namespace
}  // namespace swarm
