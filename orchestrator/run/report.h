// What a finished run tells people and pipelines: report.json in the run directory, and a summary of
// every subtask on the terminal. Both are read from the store, so they say what the log says.
#ifndef SWARM_ORCHESTRATOR_RUN_REPORT_H_
#define SWARM_ORCHESTRATOR_RUN_REPORT_H_

#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/run/run_timing.h"
#include "orchestrator/store/store.h"

namespace swarm {

struct ReportContext {
  std::string run_id;
  std::string run_dir;
  std::string patch_path;
  std::string result_branch;  // empty when nothing landed
  int exit_code = 0;
  std::string sandbox;        // bubblewrap or none
  std::string limits;         // cgroup or rlimit
  std::string workspaces;     // tmpfs or disk
  std::string workspace_kind; // overlay or clone (empty: no host said)
  std::vector<std::string> warnings;
  std::string test_format = "exit";
  std::set<std::string> failing_at_base;  // per-test formats
  std::set<std::string> failing_at_end;
  std::map<std::string, int> flaky;  // test -> times it failed and then passed on the re-run
  // The model's rate limiter in this session; configured 0: the run has no model.
  int model_concurrency = 0;       // what it started with
  int model_concurrency_end = 0;   // at the end (a 429 halves it)
  int model_peak_in_flight = 0;
  std::optional<RunTiming> timing = std::nullopt;  // how parallel the run was; none when its events could not be read
  std::string reason{};  // a run that ended before any agent started: why
  bool lanes = false;    // a backlog: each lane's branch is told by the backlog's own report
};

// The snake_case name of a subtask outcome: landed, failed, skipped_dependency, no_change, ...
std::string OutcomeName(v1::SubtaskState state);

// Writes <run_dir>/report.json; returns its path. `events`: the run's, when the caller has read them
// (null: read here).
absl::StatusOr<std::string> WriteReport(const Store& store, const ReportContext& ctx,
                                        const std::vector<v1::Event>* events = nullptr);

void PrintSummary(std::ostream& out, const Store& store, const ReportContext& ctx, const std::string& report_path);

// At a run's end: measures the run from its events (without them, the report still says what
// landed; only the timing is left out), writes report.json and prints the summary on `summary`.
// A report that cannot be written is said on `err`.
void ReportRun(const Store& store, ReportContext ctx, std::ostream& summary, std::ostream& err);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_REPORT_H_
