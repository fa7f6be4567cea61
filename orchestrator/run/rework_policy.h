// What happens to a lone patch that the check or the queue rejected: redone on the new head when it
// conflicted (a rebase, told what conflicted), redone by a debugging sub-agent when its tests failed
// (a fix-up, told the failing log and the patch), or finished. Counts the rounds per subtask against
// --max-rebases and --max-fixups, keeps what the subtask's next lease is told, and is restored from
// the store on resume. Plain data on the coordinator's executor.
#ifndef SWARM_ORCHESTRATOR_RUN_REWORK_POLICY_H_
#define SWARM_ORCHESTRATOR_RUN_REWORK_POLICY_H_

#include <map>
#include <optional>
#include <string>

namespace swarm {

class ReworkPolicy {
 public:
  enum class Rejection { kConflict, kTestsFailed, kOther };
  enum class Rework { kRebase, kFixUp, kFinish };

  ReworkPolicy(int max_rebases, int max_fixups) : max_rebases_(max_rebases), max_fixups_(max_fixups) {}

  // What to do with a rejected patch. A group's patches are never redone one by one (`lone` false);
  // a fix-up needs the tests to have run and a model that may still spend (`can_fix_up`).
  Rework Decide(const std::string& id, Rejection rejection, bool lone, bool tested, bool can_fix_up) const;

  // Records a rebase: the round, and the conflict the next lease is told. Returns the round.
  int Rebase(const std::string& id, std::string conflict_json);
  // Records a fix-up: the round, and the failure the next leases are told until a patch comes.
  int FixUp(const std::string& id, std::string failure_json);

  // What the next lease of `id` carries. The conflict is told once; the failure until a patch comes.
  std::optional<std::string> TakeConflict(const std::string& id);
  const std::string* failure(const std::string& id) const;
  // A patch came: the failure it was asked to fix is answered.
  void PatchSubmitted(const std::string& id) { failures_.erase(id); }

  int rebases(const std::string& id) const;
  int fixups(const std::string& id) const;
  int max_rebases() const { return max_rebases_; }
  int max_fixups() const { return max_fixups_; }

  // A resumed run continues the counts and what its leases were to be told (recovery.h).
  void Restore(std::map<std::string, int> rebases, std::map<std::string, std::string> conflicts,
               std::map<std::string, int> fixups, std::map<std::string, std::string> failures);

 private:
  const int max_rebases_;
  const int max_fixups_;
  std::map<std::string, int> rebases_;             // subtask -> conflict rounds so far
  std::map<std::string, std::string> conflicts_;   // subtask -> conflict JSON for its next lease
  std::map<std::string, int> fixups_;              // subtask -> fix-up rounds so far
  std::map<std::string, std::string> failures_;    // subtask -> failure JSON for its next leases
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_REWORK_POLICY_H_
