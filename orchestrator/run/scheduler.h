// Which subtask runs next. A pure state machine over the plan's DAG: a subtask is ready when every
// effective dependency landed (or needed no change) and no running subtask expects to write one of
// its files; it is skipped when a dependency did not land. Atomic groups are handed to the merge
// stage as one, once every member has a patch (or needed no change). Owned by one executor.
#ifndef SWARM_ORCHESTRATOR_RUN_SCHEDULER_H_
#define SWARM_ORCHESTRATOR_RUN_SCHEDULER_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "orchestrator/plan/plan.h"

namespace swarm {

class Scheduler final {
 public:
  enum class State { kPending, kRunning, kPatchReady, kMerging, kLanded, kFailed, kSkipped, kNoChange };

  Scheduler(const Plan& plan, int max_attempts);

  // The next ready subtask in plan order, now running with its attempt counted; nullopt if none.
  std::optional<std::string> TakeReady();
  // The attempt ended without a patch. Returns true when it goes back to pending for another attempt,
  // false when its attempts are used up (it is then failed).
  bool AttemptFailed(const std::string& id);
  // The subtask's patch conflicted with what landed since its base: pending again for another attempt
  // on the new head, which does not count against the attempt limit (rebases have their own).
  void Rebase(const std::string& id);
  // The attempt produced a patch (kPatchReady) or needed no change (kNoChange).
  void AttemptSucceeded(const std::string& id, bool no_change);
  // Patches ready to merge: a lone subtask, or a whole atomic group whose members are all done with
  // their agents (a partial group's members come one by one, like lone subtasks). Each is returned
  // once and becomes kMerging. An atomic group with a failed member is failed whole (`failed_groups`
  // receives its name).
  std::vector<std::vector<std::string>> TakeMergeable(std::vector<std::string>* failed_groups);
  void Finish(const std::string& id, State state);
  // Puts a subtask back where a resumed run finds it: its state, the attempts made so far (the next
  // one is numbered after them), and how many of those do not count against the attempt limit
  // (they were cut short by the coordinator's death, not failed by the agent).
  void Restore(const std::string& id, State state, int attempts, int forgiven);
  // Pending subtasks that can never run because a dependency did not land; now kSkipped.
  std::vector<std::string> TakeBlocked();

  State state(const std::string& id) const { return subtasks_.at(id).state; }
  int attempts(const std::string& id) const { return subtasks_.at(id).attempts; }
  const v1::Subtask& spec(const std::string& id) const { return subtasks_.at(id).spec; }
  const std::vector<std::string>& order() const { return order_; }
  bool AllDone() const;
  int Count(State state) const;

 private:
  struct Entry {
    v1::Subtask spec;
    State state = State::kPending;
    int attempts = 0;
    int forgiven = 0;
  };
  bool IsTerminal(State s) const;
  bool FilesBusy(const v1::Subtask& s) const;

  // Set at construction.
  const int max_attempts_;
  std::vector<std::string> order_;
  std::map<std::string, GroupSpec> groups_;
  // Owned by the coordinator's executor.
  std::map<std::string, Entry> subtasks_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_SCHEDULER_H_
