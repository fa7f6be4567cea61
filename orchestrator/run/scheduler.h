// Which subtask runs next. A pure state machine over the plan's DAG: a subtask is ready when every
// effective dependency landed (or needed no change) and no running subtask expects to write one of
// its files; it is skipped when a dependency did not land. Of the ready ones, the one heading the
// longest remaining chain of dependents goes first (weighed by the plan's estimate_s, else 1 each;
// ties in plan order), so the critical path is never left waiting for free agents. Atomic groups are
// handed to the merge stage as one, once every member has a patch (or needed no change). Owned by
// one executor. Every call costs about what it returns (logarithmic bookkeeping per change), not
// the size of the plan: a run of 10,000 subtasks calls it for every event.
//
// Lanes (a backlog's issues) share the scheduler: a subtask's files clash only with those of its own
// lane (lanes land on separate refs), and a lane holds at most `max_running_per_lane` running
// subtasks, so that no lane starves the others of agents.
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

  // `max_running_per_lane`: 0 for no cap.
  Scheduler(const Plan& plan, int max_attempts, int max_running_per_lane = 0);

  // The ready subtask heading the longest chain, now running with its attempt counted; nullopt if none.
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
  // Lanes (a backlog's issues; never the run's own "") whose every subtask has become terminal since
  // this was last called: nothing of theirs will run or merge again.
  std::vector<std::string> TakeFinishedLanes();

  State state(const std::string& id) const { return At(id).state; }
  int attempts(const std::string& id) const { return At(id).attempts; }
  const v1::Subtask& spec(const std::string& id) const { return At(id).spec; }
  // Whether another subtask waits for this one to land.
  bool has_dependents(const std::string& id) const { return !At(id).dependents.empty(); }
  const std::vector<std::string>& order() const { return order_; }
  bool AllDone() const;
  // Landed, failed, skipped or needing no change: the subtask's outcome is final.
  static bool IsTerminal(State s);
  int Count(State state) const { return counts_[static_cast<int>(state)]; }
  // The weight of the longest chain of dependents `id` heads, itself included (estimate_s, else 1).
  double ChainWeight(const std::string& id) const { return At(id).chain; }

 private:
  static constexpr int kStates = 8;
  struct Entry {
    v1::Subtask spec;
    State state = State::kPending;
    int attempts = 0;
    int forgiven = 0;
    int index = 0;             // in plan order
    double chain = 0;          // ChainWeight
    int unmet = 0;             // dependencies not landed (or unchanged) yet
    std::vector<int> dependents;
  };
  // Ready candidates: pending, every dependency met; the longest chain first, then plan order.
  using ReadyKey = std::pair<double, int>;  // (-chain, index)

  const Entry& At(const std::string& id) const;
  Entry& At(const std::string& id);
  static bool Met(State s) { return s == State::kLanded || s == State::kNoChange; }
  static bool OwnsFiles(State s) { return s == State::kRunning || s == State::kPatchReady || s == State::kMerging; }
  // Every state change goes through here: it keeps the counts, the file owners, the ready set and
  // the dependents' unmet counts true.
  void Set(Entry& e, State state);
  void Reindex(Entry& e);
  bool FilesBusy(const Entry& e) const;
  bool LaneFull(const std::string& lane) const;
  static std::string FileKey(const Entry& e, const std::string& file);

  // Set at construction.
  const int max_attempts_;
  const int max_running_per_lane_;
  std::vector<std::string> order_;
  std::map<std::string, GroupSpec> groups_;
  // Owned by the coordinator's executor.
  std::vector<Entry> entries_;                      // by plan index
  std::map<std::string, int, std::less<>> index_;   // id -> plan index
  int counts_[kStates] = {};
  std::map<std::string, std::set<int>> owners_;  // FileKey -> subtasks running or with a patch not landed
  std::map<std::string, int> lane_running_;      // lane -> its subtasks running now
  std::map<std::string, int> lane_open_;         // lane -> its subtasks not terminal yet
  std::vector<std::string> finished_lanes_;      // since TakeFinishedLanes last ran
  std::set<ReadyKey> ready_;
  std::set<int> patch_ready_;                        // kPatchReady, by plan index
  std::vector<int> newly_failed_;                    // failed or skipped since TakeBlocked last ran
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_SCHEDULER_H_
