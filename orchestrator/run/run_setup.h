// Checks a RunConfig against the world and resolves it, before anything is created: the repository,
// the base, the plan, the state directory, the sandbox and the agent host binary. Every problem is an
// error naming what was wrong (see exit_codes.h for how codes map to exit statuses).
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_SETUP_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_SETUP_H_

#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "git/git.h"
#include "models/model_config.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/run/run_config.h"

namespace swarm {

struct PreparedRun {
  RunConfig config;
  std::optional<Git> user;    // the user's repository
  std::string repo_root;      // its work tree (or git dir when bare)
  std::string base;           // the resolved base commit
  Plan plan;
  std::string state_dir;      // absolute, exists, writable
  std::string run_id;
  std::vector<std::string> sandbox_env;  // resolved NAME=VALUE
  std::vector<std::string> warnings;     // for the user, before the run starts
  std::string agent_binary;
  std::optional<ResolvedModel> model;  // the run's model, key included (held in memory only)
  double per_subtask_usd = 0;          // from the models config's [budget]
  bool resume = false;  // continue run_id, whose coordinator is gone, instead of starting it
  // A backlog's issues whose planning was recorded (IssuePlanned), planned or not: a resumed run
  // plans only the others.
  std::set<std::string> planned_issues;
};

// Checks `config` and everything it names (repository, base, plan, model, binds), and reads the plan.
// Errors name the settings for `names`: the command line's flags or the Control API's fields.
absl::StatusOr<PreparedRun> PrepareRun(const RunConfig& config, SettingNames names = SettingNames::kFlags);

// As the run starts: raises the open-file limit to what the fleet needs, and warns on `err` of what
// the user should know (the run's warnings, a soft limit too low, no sandbox, agents on the network).
void WarnAtStart(const PreparedRun& run, const std::string& sandbox, std::ostream& err);

// Prepares to continue the run `run_id` of `state_dir` (empty: the default) whose coordinator is
// gone (killed, crashed, cancelled): the run as it started (its stored RunSpec: resolved base, plan,
// settings), checked against the world again. A run whose coordinator is alive is refused (unless
// `locked_by_us`: the caller holds the run's lock); so is a finished run, unless what landed is on no
// branch (its publishing failed): resuming it publishes it.
// A run stopped on its budget is resumed with a larger `budget_usd` (0: the budget it had).
// `will_run` false (`swarm cancel` of a dead run, which only reconciles and publishes): the model and
// the agent binary are not looked up, so a missing key or another swarm-agent does not stop it.
absl::StatusOr<PreparedRun> PrepareResume(const std::string& state_dir, const std::string& run_id,
                                          bool locked_by_us = false, double budget_usd = 0, bool will_run = true);

// The state directory a run uses when --state-dir is not given.
std::string DefaultStateDir();

// A new run id: UTC time and a random suffix, e.g. 20261125-043102-7f3a.
std::string NewRunId();

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_SETUP_H_
