#include "orchestrator/run/run_closer.h"

#include "orchestrator/run/exit_codes.h"

namespace swarm {

ClosedRun CloseRun(const RunEnding& ending, const IntegrationRepo& repo, const Git& user, const std::string& run_id,
                   const std::string& base, const std::string& run_dir, bool move_forward) {
  ClosedRun closed;
  closed.result = PublishRunResult(repo, user, run_id, base, run_dir, move_forward);
  const RunResult& result = closed.result;
  const bool publish_failed = !result.publish_error.empty();

  closed.exit_code = ending.cancel_exit != 0                           ? ending.cancel_exit
                     : ending.landed + ending.no_change == ending.total ? kExitOk
                     : ending.budget_stopped                           ? kExitBudget
                                                                       : kExitIncomplete;
  if (publish_failed && closed.exit_code == kExitOk) closed.exit_code = kExitEnvironment;
  auto* f = closed.finished.mutable_run_finished();
  // A run stopped on its budget can be resumed with a larger one, as a cancelled run can be resumed.
  f->set_state(ending.cancel_exit != 0 ? "cancelled" : closed.exit_code == kExitBudget ? "budget" : "completed");
  f->set_landed(ending.landed);
  f->set_failed(ending.failed);
  f->set_skipped(ending.skipped);
  f->set_no_change(ending.no_change);
  f->set_result_branch(result.branch);
  f->set_head(result.head);
  f->set_exit_code(closed.exit_code);
  return closed;
}

}  // namespace swarm
