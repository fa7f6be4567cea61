#include "orchestrator/run/run_closer.h"

#include <map>
#include <string>

#include "orchestrator/run/exit_codes.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {

std::vector<LaneToPublish> ResolvedLanes(const Scheduler& scheduler, const v1::Backlog& backlog) {
  using State = Scheduler::State;
  struct Lane {
    bool done = true;         // every subtask landed or had nothing to change
    bool landed = false;      // one landed
    bool test_landed = false;  // its test-first subtask landed (with a failing test)
  };
  std::map<std::string, Lane> lanes;
  for (const auto& id : scheduler.order()) {
    const v1::Subtask& spec = scheduler.spec(id);
    if (spec.lane().empty()) continue;
    Lane& lane = lanes[spec.lane()];
    const State state = scheduler.state(id);
    lane.done = lane.done && (state == State::kLanded || state == State::kNoChange);
    lane.landed = lane.landed || state == State::kLanded;
    if (spec.test_first() && state == State::kLanded) lane.test_landed = true;
  }
  std::vector<LaneToPublish> resolved;
  for (const v1::Issue& issue : backlog.issues()) {
    auto it = lanes.find(issue.id());
    if (it == lanes.end() || !it->second.done || !it->second.landed) continue;
    if (backlog.require_test() && !it->second.test_landed) continue;
    resolved.push_back({issue.id(), backlog.branch_prefix() + issue.id(), backlog.redo()});
  }
  return resolved;
}

int RunExitCode(const RunEnding& ending, bool publish_failed) {
  const int exit_code = ending.cancel_exit != 0                           ? ending.cancel_exit
                        : ending.landed + ending.no_change == ending.total ? kExitOk
                        : ending.budget_stopped                           ? kExitBudget
                                                                          : kExitIncomplete;
  return publish_failed && exit_code == kExitOk ? kExitEnvironment : exit_code;
}

v1::RunState RunEndState(const RunEnding& ending, int exit_code) {
  // A run stopped on its budget can be resumed with a larger one, as a cancelled run can be resumed.
  return ending.cancel_exit != 0     ? v1::RUN_STATE_CANCELLED
         : exit_code == kExitBudget ? v1::RUN_STATE_BUDGET
                                    : v1::RUN_STATE_COMPLETED;
}

ClosedRun CloseRun(const RunEnding& ending, const IntegrationRepo& repo, const Git& user, const std::string& branch,
                   const std::string& base, const std::string& run_dir, bool move_forward,
                   const std::vector<LaneToPublish>& lanes) {
  ClosedRun closed;
  closed.result = PublishRunResult(repo, user, branch, base, run_dir, move_forward);
  const RunResult& result = closed.result;
  auto* f = closed.finished.mutable_run_finished();
  bool publish_failed = !result.publish_error.empty();
  for (const LaneToPublish& lane : lanes) {
    v1::LaneEnd* end = f->add_lanes();
    end->set_lane(lane.lane);
    absl::StatusOr<std::string> head = repo.Head(LaneRef(lane.lane));
    absl::Status published = head.status();
    if (head.ok()) {
      end->set_head(*head);
      published = repo.Publish(user, "refs/heads/" + lane.branch, move_forward, base, LaneRef(lane.lane), lane.replace);
    }
    if (published.ok()) {
      end->set_branch(lane.branch);
    } else {
      end->set_publish_error(std::string(published.message()));
      publish_failed = true;
    }
  }

  closed.exit_code = RunExitCode(ending, publish_failed);
  SetState(*f, RunEndState(ending, closed.exit_code));
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
