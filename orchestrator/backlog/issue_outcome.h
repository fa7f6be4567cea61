// What became of each issue of a backlog run, read from the run's store and its private repository
// (so a report can be made again from what was recorded): resolved (its lane's work landed, tested,
// and is on its branch), unresolved with a reason, failed (swarm's own error), or skipped.
#ifndef SWARM_ORCHESTRATOR_BACKLOG_ISSUE_OUTCOME_H_
#define SWARM_ORCHESTRATOR_BACKLOG_ISSUE_OUTCOME_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "git/git.h"
#include "orchestrator/store/store.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

struct IssueOutcome {
  enum class Kind { kResolved, kUnresolved, kFailed, kSkipped };
  v1::Issue issue;
  Kind kind = Kind::kUnresolved;
  std::string reason;  // unresolved, failed, skipped: why (no change, tests failed, budget, ...)
  std::string detail;  // more for people: the last subtask's reason, a publishing error
  std::string branch;  // resolved: where its work is
  std::string head;    // resolved: the branch's commit
  std::vector<std::string> subtasks;
  std::vector<std::string> files;        // resolved: what its branch changes
  std::vector<std::string> summaries;    // resolved: the agents' accounts of their patches, in landing order
  std::vector<std::string> fixed_tests;  // per-test formats: failing at the base, passing on its branch
  std::vector<std::string> overlaps;     // other resolved issues that change one of its files
  std::string log_path;                  // unresolved: the log that says why
  int attempts = 0;
  std::uint64_t model_calls = 0;
  std::uint64_t tokens = 0;
  double cost_usd = 0;
  double wall_s = 0;              // from its first lease to its last outcome
  std::string on_resolved_error;  // --on-resolved failed for it
};

std::string KindName(IssueOutcome::Kind kind);

// Every issue of `backlog`, in its order, then the skipped ones. `integration` is the run's private
// repository, `base` the commit every lane started from.
absl::StatusOr<std::vector<IssueOutcome>> ReadIssueOutcomes(const Store& store, const std::string& run_id,
                                                            const v1::Backlog& backlog, const Git& integration,
                                                            const std::string& base);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_BACKLOG_ISSUE_OUTCOME_H_
