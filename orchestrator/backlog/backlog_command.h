// `swarm backlog`: an issues file in; one lane per issue, worked by one fleet under one budget and
// one rate limit, each landed behind the tests on its own ref; a branch and a pull request body per
// resolved issue, and reports for the pipeline, out. See docs/backlog.md.
#ifndef SWARM_ORCHESTRATOR_BACKLOG_BACKLOG_COMMAND_H_
#define SWARM_ORCHESTRATOR_BACKLOG_BACKLOG_COMMAND_H_

#include <sys/types.h>

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "orchestrator/run/run_config.h"
#include "orchestrator/run/run_setup.h"

namespace swarm {

inline constexpr char kIssueBranchPrefix[] = "swarm/issue-";

struct BacklogOptions {
  std::string issues_file;       // gh's or glab's JSON, or JSON lines (issues.h)
  std::string label;             // only issues with this label
  int max_issues = 0;            // 0: all
  bool redo = false;             // issues whose branch exists are done again
  int max_agents_per_issue = 0;  // 0: the agents divided by the issues, at least one
  bool no_plan = false;          // each issue is one subtask, even with a model
  std::string out_dir;           // empty: the run's directory
  std::string on_resolved;       // sh -c, in the repository, once per resolved issue
  // Test first: 1 on, 0 off, -1 the default (on when the test format is per-test).
  int require_test = -1;
  std::vector<std::string> test_globs;  // empty: DefaultTestGlobs()
  double budget_per_issue_usd = 0;
};

// What a test file is called, in the languages swarm meets most (PathMatches in integration_repo.h).
std::vector<std::string> DefaultTestGlobs();

// Reads the issues, skips those whose branch exists (unless redo), and starts the run: one lane per
// issue. Bad input is InvalidArgument naming the issue and the field; nothing starts.
absl::Status BacklogCommand(RunConfig config, const BacklogOptions& options, mode_t user_umask, std::ostream& out,
                            std::ostream& err);

// Runs a prepared backlog run (new, or resumed by `swarm resume`) with a coordinator in this process,
// then writes its report, pull request bodies, and runs --on-resolved. The exit status as a Status:
// 0 every issue resolved, 1 some not, others as `swarm run` (exit_codes.h).
absl::Status RunBacklog(PreparedRun run, mode_t user_umask, std::ostream& out, std::ostream& err);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_BACKLOG_BACKLOG_COMMAND_H_
