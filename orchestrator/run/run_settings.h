// The one table of a run's scalar settings. Each row is a member of RunConfig (with its default), an
// `optional` field of the RunSpec proto of the same name, a flag of `swarm run` with its help, and
// the range its value must lie in. A new setting is a row here and a field in run.proto; the unit test
// of this file fails when the two disagree.
//
// X(type, name, default, flag, lowest, highest, help)
//   flag:   "" for a setting no flag sets (the plan's text comes from a file or a client).
//   lowest, highest: the range of a number (checked by CheckSettings); unused for text and switches.
//
// Lists, the sandbox's limits (given in MiB on the command line, in bytes in the spec) and what a
// server sets for itself are written out beside the table (run_config.h).
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_SETTINGS_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_SETTINGS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

// clang-format off
#define SWARM_RUN_SETTINGS(X)                                                                              \
  X(std::string, repo, ".", "--repo", 0, 0, "the git repository to work on")                               \
  X(std::string, base_rev, "HEAD", "--base", 0, 0, "where the run's integration starts")                   \
  X(std::string, agent_command, "", "--agent-cmd", 0, 0,                                                   \
    "command each agent runs (sh -c, in its workspace, sandboxed); without it, --model runs LLM agents")  \
  X(std::string, test_command, "", "--test-cmd", 0, 0, "command that must pass before a patch lands (sandboxed)") \
  X(std::string, test_format, "exit", "--test-format", 0, 0,                                               \
    "how to read the test command's results: exit, junit, gtest, ctest, pytest, unittest, tap")            \
  X(std::string, test_report, "", "--test-report", 0, 0, "with --test-format junit: the JUnit XML file the tests write") \
  X(std::string, plan_file, "", "--plan", 0, 0, "plan file (JSON) with the subtasks")                      \
  X(std::string, plan_text, "", "", 0, 0, "the plan itself (from a client or a stored run); wins over the file") \
  X(std::string, task, "", "--task", 0, 0, "the task in words: the model plans it into subtasks (needs --model)") \
  X(std::string, shard_glob, "", "--shard", 0, 0, "shard the tracked files matching this git pathspec glob") \
  X(int, shard_parts, 0, "--parts", 0, 1000000, "number of shards for --shard")                           \
  X(bool, independent, false, "--independent", 0, 0, "land shards one by one instead of as one atomic group") \
  X(int, agents, 4, "--agents", 1, 1000000, "agent slots")                                                 \
  X(int, agent_hosts, 0, "--agent-hosts", 0, 1000000, "agent host processes (0: ceil(agents/256))")        \
  X(int, test_timeout_s, 600, "--test-timeout", 1, INT32_MAX, "seconds before a test run is killed")       \
  X(int, agent_timeout_s, 3600, "--agent-timeout", 1, INT32_MAX, "seconds before an agent command is killed") \
  X(int, max_attempts, 3, "--max-attempts", 1, INT32_MAX, "attempts per subtask")                         \
  X(int, max_rebases, 2, "--max-rebases", 0, 100, "times a conflicting patch is redone on the new head")   \
  X(int, max_fixups, 1, "--max-fixups", 0, 10,                                                             \
    "with --model: times a debugging sub-agent fixes a patch that fails the tests when merged")            \
  X(int, max_patch_mb, 64, "--max-patch-mb", 1, 200, "largest patch an agent may submit, MiB")             \
  X(int, max_patch_expanded_mb, 256, "--max-patch-expanded-mb", 1, 1 << 20,                                \
    "most a patch may grow the checked-out tree by, MiB (each link or copy of a file counts)")             \
  X(int, max_patch_files, 10000, "--max-patch-files", 1, 100000000, "most files a patch may add")          \
  X(int, max_workspace_mb, 16384, "--max-workspace-mb", 1, 1 << 24,                                        \
    "most an attempt's workspace may grow by before its patch is computed, MiB")                           \
  X(int, max_workspace_files, 1000000, "--max-workspace-files", 1, 1000000000,                            \
    "most files and directories an attempt may add to its workspace")                                      \
  X(int, test_jobs, 0, "--test-jobs", 0, 1024, "patches checked at once, each alone on its base (0: the number of cores)") \
  X(int, queue_depth, 3, "--queue-depth", 1, 64, "stacked candidates the integration queue tests at once") \
  X(int, max_batch, 16, "--max-batch", 1, 256, "patches one queue candidate may add when the queue is long") \
  X(int, lease_timeout_s, 30, "--lease-timeout", 1, 86400, "seconds a lease lives without a heartbeat")   \
  X(int, heartbeat_interval_s, 10, "--heartbeat-interval", 1, 3600, "seconds between a host's heartbeats") \
  X(std::string, model, "", "--model", 0, 0, "the agents' model, PROVIDER:MODEL (see `swarm models`)")     \
  X(std::string, base_url, "", "--base-url", 0, 0,                                                         \
    "send the model's requests here instead (any OpenAI-compatible server)")                               \
  X(double, budget_usd, 0, "--budget-usd", 0, 0, "stop the run when its model spending would pass this many dollars") \
  X(int, max_steps, 40, "--max-steps", 1, 10000, "model calls per attempt of an LLM agent (with --model and no --agent-cmd)") \
  X(std::string, max_run_time, "", "--max-run-time", 0, 0,                                                 \
    "stop the run as a cancel does once it has run this long (90s, 30m, 12h, 7d; each resume starts afresh)") \
  X(std::uint64_t, max_attempt_tokens, 0, "--max-attempt-tokens", 0, INT64_MAX,                            \
    "LLM agent: tokens (in and out) an attempt may use before it stops (0: no limit)")                     \
  X(std::string, branch, "", "--branch", 0, 0,                                                             \
    "name of the result branch (default: swarm/RUN); it must not exist yet")                               \
  X(std::string, author, "", "--author", 0, 0,                                                             \
    "\"Name <email>\" of the commits that land (default: swarm <swarm@localhost>; the committer stays swarm)") \
  X(bool, signoff, false, "--signoff", 0, 0, "end each commit that lands with a Signed-off-by trailer of the author") \
  X(std::string, state_dir, "", "--state-dir", 0, 0,                                                       \
    "where runs are kept (default: $SWARM_STATE_DIR or $XDG_STATE_HOME/swarm)")                            \
  X(bool, json, false, "--json", 0, 0, "print the run's events as JSON lines instead of progress")          \
  X(bool, keep_workspaces, false, "--keep-workspaces", 0, 0, "keep workspaces after the run")              \
  X(std::string, build_cache, "", "--build-cache", 0, 0,                                                   \
    "a directory every test run shares, writable, for ccache, pip, cargo and go caches (off: each test run builds from nothing)") \
  X(bool, agent_network, false, "--agent-network", 0, 0, "let agent commands reach the network (never test runs)") \
  X(bool, no_sandbox, false, "--no-sandbox", 0, 0, "run agents and tests without isolation")               \
  X(std::string, agent_binary, "", "--agent-binary", 0, 0, "the swarm-agent host binary (default: beside swarm)")
// clang-format on

namespace swarm {

struct RunConfig;

// Whom a message about a setting speaks to: a user of `swarm run` (its flags) or a client of the
// Control API (the RunSpec's fields).
enum class SettingNames { kFlags, kFields };

// The name of the setting `field` (a RunSpec field) for `names`: "--agents" or "agents". Settings
// outside the table are named by their flag here too ("sandbox_ro_binds" is "--sandbox-ro-bind").
std::string SettingName(std::string_view field, SettingNames names);

// Every number of the table within its range; the first that is not, named for `names`.
absl::Status CheckSettings(const RunConfig& config, SettingNames names);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_SETTINGS_H_
