#include "orchestrator/run/run_settings.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "orchestrator/run/run_config.h"
#include "orchestrator/run/run_setup.h"

namespace swarm {
namespace {

// The RunSpec fields written out beside the table (run_config.h), and the spec's own.
const std::set<std::string> kBesideTheTable = {"sandbox_env",   "sandbox_ro_binds", "allow_paths", "memory_bytes",
                                               "max_processes", "max_file_bytes",   "no_fixups",   "spec_version",
                                               "agent_files",   "backlog"};

// A setting added to the table without its field in run.proto (or the other way) fails here, not in
// a client's hands.
TEST(RunSettingsTest, TheTableAndTheProtoNameTheSameSettingsEachWithPresence) {
  const google::protobuf::Descriptor* spec = v1::RunSpec::descriptor();
  std::set<std::string> table;
#define SWARM_TABLE_NAME(type, name, value, flag, lowest, highest, help) table.insert(#name);
  SWARM_RUN_SETTINGS(SWARM_TABLE_NAME)
#undef SWARM_TABLE_NAME
  for (const std::string& name : table) {
    const google::protobuf::FieldDescriptor* field = spec->FindFieldByName(name);
    ASSERT_NE(field, nullptr) << name << " is in the table but not in RunSpec";
    EXPECT_TRUE(field->has_presence()) << name << " must be optional: unset means the default";
  }
  for (int i = 0; i < spec->field_count(); ++i) {
    const std::string name = spec->field(i)->name();
    EXPECT_TRUE(table.count(name) || kBesideTheTable.count(name)) << "RunSpec." << name << " is in no table";
  }
}

TEST(RunSettingsTest, AClientsSpecWithNothingSetHasTheCommandLinesDefaults) {
  const RunConfig defaults;
  const RunConfig read = FromSpec(v1::RunSpec());
  EXPECT_EQ(read.agents, defaults.agents);
  EXPECT_EQ(read.max_rebases, 2);
  EXPECT_EQ(read.max_fixups, 1);
  EXPECT_EQ(read.queue_depth, 3);
  EXPECT_EQ(read.lease_timeout_s, 30);
  EXPECT_EQ(read.base_rev, "HEAD");
  EXPECT_EQ(read.test_format, "exit");
  EXPECT_EQ(read.limits.memory_bytes, defaults.limits.memory_bytes) << "a limit left unset is not unlimited";
  EXPECT_EQ(read.limits.max_processes, defaults.limits.max_processes);
  EXPECT_EQ(read.limits.max_file_bytes, defaults.limits.max_file_bytes);
  EXPECT_TRUE(CheckSettings(read, SettingNames::kFields).ok());
}

TEST(RunSettingsTest, ZeroSetByAClientIsZero) {
  v1::RunSpec spec;
  spec.set_max_rebases(0);
  spec.set_max_fixups(0);
  spec.set_memory_bytes(0);
  const RunConfig read = FromSpec(spec);
  EXPECT_EQ(read.max_rebases, 0);
  EXPECT_EQ(read.max_fixups, 0);
  EXPECT_EQ(read.limits.memory_bytes, 0u) << "0 set on purpose: unlimited";
}

TEST(RunSettingsTest, ARunsSettingsComeBackAsTheyWereStored) {
  RunConfig c;
  c.repo = "/r";
  c.agents = 300;
  c.max_rebases = 0;
  c.max_fixups = 0;
  c.test_jobs = 0;
  c.budget_usd = 2.5;
  c.keep_workspaces = true;
  c.limits.memory_bytes = 0;
  c.sandbox_env = {"A=1"};
  c.allow_paths = {".github/**"};
  std::string wire;
  ASSERT_TRUE(ToSpec(c).SerializeToString(&wire));
  v1::RunSpec stored;
  ASSERT_TRUE(stored.ParseFromString(wire));
  const RunConfig read = FromStoredSpec(stored);
  EXPECT_EQ(read.repo, "/r");
  EXPECT_EQ(read.agents, 300);
  EXPECT_EQ(read.max_rebases, 0);
  EXPECT_EQ(read.max_fixups, 0);
  EXPECT_EQ(read.budget_usd, 2.5);
  EXPECT_TRUE(read.keep_workspaces);
  EXPECT_EQ(read.limits.memory_bytes, 0u);
  EXPECT_EQ(read.sandbox_env, c.sandbox_env);
  EXPECT_EQ(read.allow_paths, c.allow_paths);
  EXPECT_EQ(read.max_patch_mb, c.max_patch_mb);
}

// The bytes an older swarm stored (no presence, no spec_version): every setting was written, and the
// wire dropped those at 0; settings added later are absent altogether.
TEST(RunSettingsTest, ASpecStoredByAnOlderSwarmIsReadAsItWasWritten) {
  v1::RunSpec older;  // what the older writer's non-zero fields put on the wire
  older.set_repo("/r");
  older.set_base_rev("main");
  older.set_agent_command("true");
  older.set_test_command("true");
  older.set_test_format("exit");
  older.set_agents(8);
  older.set_test_timeout_s(600);
  older.set_agent_timeout_s(3600);
  older.set_max_attempts(3);
  older.set_lease_timeout_s(30);
  older.set_heartbeat_interval_s(10);
  older.set_max_processes(512);
  older.set_no_fixups(true);  // max_fixups was 0
  // max_rebases 0, memory_bytes 0 (unlimited), test_jobs 0: not on the wire. queue_depth, max_batch,
  // max_patch_mb...: settings that older swarm did not have.
  std::string wire;
  ASSERT_TRUE(older.SerializeToString(&wire));
  v1::RunSpec stored;
  ASSERT_TRUE(stored.ParseFromString(wire));
  const RunConfig read = FromStoredSpec(stored);
  const RunConfig defaults;
  EXPECT_EQ(read.agents, 8);
  EXPECT_EQ(read.base_rev, "main");
  EXPECT_EQ(read.max_rebases, 0) << "0 by choice then";
  EXPECT_EQ(read.max_fixups, 0);
  EXPECT_EQ(read.limits.memory_bytes, 0u) << "unlimited by choice then";
  EXPECT_EQ(read.test_jobs, 0);
  EXPECT_EQ(read.queue_depth, defaults.queue_depth) << "a setting it did not have takes the default";
  EXPECT_EQ(read.max_patch_mb, defaults.max_patch_mb);
  EXPECT_EQ(read.max_steps, defaults.max_steps);
  v1::RunSpec fixups = stored;
  fixups.set_no_fixups(false);
  EXPECT_EQ(FromStoredSpec(fixups).max_fixups, defaults.max_fixups) << "before max_fixups existed";
  // The same bytes from a client are a client's: what it left out takes the default.
  EXPECT_EQ(FromSpec(stored).max_rebases, defaults.max_rebases);
}

TEST(RunSettingsTest, ErrorsNameTheFlagOnTheCommandLineAndTheFieldForAClient) {
  RunConfig c;
  c.agents = 0;
  absl::Status flags = CheckSettings(c, SettingNames::kFlags);
  absl::Status fields = CheckSettings(c, SettingNames::kFields);
  EXPECT_EQ(flags.message(), "--agents must be between 1 and 1000000, not 0");
  EXPECT_EQ(fields.message(), "agents must be between 1 and 1000000, not 0");
  c = RunConfig();
  c.lease_timeout_s = 0;
  EXPECT_EQ(CheckSettings(c, SettingNames::kFlags).message(), "--lease-timeout must be between 1 and 86400, not 0");
  EXPECT_EQ(CheckSettings(c, SettingNames::kFields).message(), "lease_timeout_s must be between 1 and 86400, not 0");
  c = RunConfig();
  c.agent_hosts = -1;
  EXPECT_FALSE(CheckSettings(c, SettingNames::kFields).ok());
  c = RunConfig();
  c.budget_usd = -1;
  EXPECT_EQ(CheckSettings(c, SettingNames::kFields).message(), "budget_usd must be a number of dollars, 0 or more, not -1");
  EXPECT_EQ(SettingName("sandbox_ro_binds", SettingNames::kFlags), "--sandbox-ro-bind");
  EXPECT_EQ(SettingName("plan_text", SettingNames::kFlags), "plan_text") << "no flag sets it";
}

// The checks past the ranges speak the client's language too.
TEST(RunSettingsTest, PrepareRunForAClientNamesFields) {
  RunConfig c;
  c.agent_command = "true";
  c.lease_timeout_s = 10;
  c.heartbeat_interval_s = 10;
  absl::StatusOr<PreparedRun> run = PrepareRun(c, SettingNames::kFields);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(), "lease_timeout_s must be longer than heartbeat_interval_s");
  c = RunConfig();
  c.agent_command = "true";
  run = PrepareRun(c, SettingNames::kFields);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(), "test_command is required: the command that gates every patch");
  run = PrepareRun(c, SettingNames::kFlags);
  EXPECT_EQ(run.status().message(), "--test-cmd is required: the command that gates every patch");
}

}  // namespace
}  // namespace swarm
