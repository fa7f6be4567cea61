// Everything `swarm run` was asked to do, after the command line is parsed and before it is checked.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_CONFIG_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "git/integration_repo.h"
#include "orchestrator/run/run_settings.h"
#include "sandbox/sandbox_policy.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

struct RunConfig {
  // The table's settings (run_settings.h), each with its default.
#define SWARM_RUN_CONFIG_MEMBER(type, name, value, flag, lowest, highest, help) type name = value;
  SWARM_RUN_SETTINGS(SWARM_RUN_CONFIG_MEMBER)
#undef SWARM_RUN_CONFIG_MEMBER

  std::vector<std::string> sandbox_env;       // NAME (value taken from here) or NAME=VALUE
  std::vector<std::string> sandbox_ro_binds;  // paths
  std::vector<std::string> allow_paths;       // protected globs patches may touch (path_policy.h)
  ResourceLimits limits;                      // the spec's memory_bytes, max_processes, max_file_bytes
  std::vector<FileBind> agent_files;          // what the agent command names that the sandbox would hide
  // `swarm backlog` alone (a served run is refused one): the issues, one lane each, and what the
  // backlog does with them. No issues: a run of one lane.
  v1::Backlog backlog;

  bool dry_run = false;  // the command line's alone: print the subtasks, start nothing
  // The command line's alone: show agents the files their command names (agent_command_files.h).
  // A client's run gets no binds it did not ask for, and a server allows those.
  bool show_command_files = false;

  // Set by `swarm serve` for the runs it hosts, never from a RunSpec: more places hidden from every
  // sandbox of the run (the control socket's directory, the token file's) and refused as binds.
  std::vector<std::string> hidden_paths;
};

// The branch a run publishes: --branch, else swarm/RUN.
std::string ResultBranch(const RunConfig& config, const std::string& run_id);

// "Name <email>" (--author) as a commit's author, with --signoff; InvalidArgument saying what it
// takes when it is not of that form (the caller names the setting). Empty: swarm.
absl::StatusOr<CommitAuthor> ParseAuthor(const std::string& author, bool signoff);

// The config as the RunSpec message (the Control API's and the stored form), every setting present.
v1::RunSpec ToSpec(const RunConfig& config);
// A client's spec: a setting it left unset takes its default, one it set is taken as given (0 too).
RunConfig FromSpec(const v1::RunSpec& spec);
// A spec stored with a run's first event. One stored by an older swarm (spec_version below 2) was
// written without presence, and is read as that swarm wrote it.
RunConfig FromStoredSpec(const v1::RunSpec& spec);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_CONFIG_H_
