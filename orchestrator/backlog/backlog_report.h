// What a backlog run hands to its pipeline, in its --out directory: report.json (every issue's
// outcome, reason, branch, tests, steps, tokens, cost, wall), junit.xml (one testcase per issue, the
// reason as the failure message), summary.md (fit for $GITHUB_STEP_SUMMARY) and pr/<id>.md for each
// resolved issue (its first line a pull request's title, then its body).
#ifndef SWARM_ORCHESTRATOR_BACKLOG_BACKLOG_REPORT_H_
#define SWARM_ORCHESTRATOR_BACKLOG_BACKLOG_REPORT_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "orchestrator/backlog/issue_outcome.h"

namespace swarm {

struct BacklogReportContext {
  std::string run_id;  // empty: no run started (every issue skipped)
  std::string out_dir;
  std::string issues_file;
  std::string test_command;
  int exit_code = 0;
  // The run's own report.json (its subtasks, timing, limits), read before the backlog's is written
  // over it (--out defaults to the run's directory); kept as "run" in the backlog's. Empty: none.
  std::string run_report = "";
};

// "Fix #12: Title", what changed and why (the agents' summaries), the tests, the cost, "Closes #12".
std::string PullRequestBody(const IssueOutcome& outcome, const std::string& test_command);

// The path of pr/<id>.md in `out_dir`.
std::string PullRequestPath(const std::string& out_dir, const std::string& issue_id);

// Writes pr/<id>.md of each resolved issue (before --on-resolved runs on them).
absl::Status WritePullRequests(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx);

// Writes report.json, junit.xml and summary.md, each whole (written beside and renamed).
absl::Status WriteBacklogReport(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx);

// One line per issue, for the terminal.
void PrintBacklogSummary(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx, std::ostream& out);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_BACKLOG_BACKLOG_REPORT_H_
