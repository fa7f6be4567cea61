// Everything `swarm run` was asked to do, after the command line is parsed and before it is checked.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_CONFIG_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/sandbox_policy.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

struct RunConfig {
  std::string repo = ".";
  std::string base_rev = "HEAD";
  std::string agent_command;
  std::string test_command;
  std::string test_format = "exit";  // test_results.h
  std::string test_report;           // junit: the report path, relative to the tree's root
  // Exactly one source of subtasks: a plan file, or a shard glob with a number of parts.
  std::string plan_file;
  std::string plan_text;  // the plan itself (from a client or a stored run); wins over plan_file
  std::string task;       // in words, for the planner (with --model); --task-file reads it
  std::string shard_glob;
  int shard_parts = 0;
  bool independent = false;

  int agents = 4;
  int agent_hosts = 0;  // 0: ceil(agents / 256)
  int test_timeout_s = 600;
  int agent_timeout_s = 3600;
  int max_attempts = 3;
  int max_rebases = 2;            // a patch that conflicts is redone on the new head this many times
  int max_patch_mb = 64;          // a larger patch (binary files included) is refused
  int max_patch_expanded_mb = 256;  // what a patch may grow the checked-out tree by (links count each time)
  int max_patch_files = 10000;      // files a patch may add
  int max_workspace_mb = 16384;     // what an attempt's work tree may grow by past its checkout
  int max_workspace_files = 1000000;  // (build output counts: generous, a stop for floods only)
  int test_jobs = 0;              // patches checked at once; 0: the number of cores
  int queue_depth = 3;            // stacked candidates tested at once (1: one at a time)
  int max_batch = 16;             // requests in one queue unit when the queue is long (1: no batching)
  int lease_timeout_s = 30;       // a lease not renewed by a heartbeat for this long expires
  int heartbeat_interval_s = 10;  // how often hosts renew their leases
  std::string model;      // PROVIDER:MODEL (models/model_config.h); empty: the run has no model
  std::string base_url;   // overrides the provider's base URL
  double budget_usd = 0;  // the run's cap on model spending; 0: none
  int max_fixups = 1;     // with a model: rounds of the debugging sub-agent per subtask whose patch fails the tests
  int max_steps = 40;
  std::uint64_t max_attempt_tokens = 0;  // LLM agent: tokens per attempt, in and out; 0: no limit     // model calls per attempt of the LLM agent (agents without --agent-cmd)
  std::string state_dir;  // empty: $SWARM_STATE_DIR, else $XDG_STATE_HOME/swarm, else ~/.local/state/swarm

  bool json = false;
  bool dry_run = false;
  bool keep_workspaces = false;
  bool agent_network = false;
  bool no_sandbox = false;
  std::vector<std::string> sandbox_env;       // NAME (value taken from here) or NAME=VALUE
  std::vector<std::string> sandbox_ro_binds;  // paths
  std::vector<std::string> allow_paths;       // protected globs patches may touch (path_policy.h)
  ResourceLimits limits;

  std::string agent_binary;  // swarm-agent; empty: beside the swarm binary, else PATH

  // Set by `swarm serve` for the runs it hosts, never from a RunSpec: more places hidden from every
  // sandbox of the run (the control socket's directory, the token file's) and refused as binds.
  std::vector<std::string> hidden_paths;
};

// The config as the RunSpec message (the Control API's and the stored form), and back.
v1::RunSpec ToSpec(const RunConfig& config);
RunConfig FromSpec(const v1::RunSpec& spec);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_CONFIG_H_
