#include "orchestrator/run/rework_policy.h"

#include <utility>

namespace swarm {

ReworkPolicy::Rework ReworkPolicy::Decide(const std::string& id, Rejection rejection, bool lone, bool tested,
                                          bool can_fix_up) const {
  if (!lone) return Rework::kFinish;
  if (rejection == Rejection::kConflict) return rebases(id) < max_rebases_ ? Rework::kRebase : Rework::kFinish;
  if (rejection == Rejection::kTestsFailed && tested && can_fix_up && fixups(id) < max_fixups_) return Rework::kFixUp;
  return Rework::kFinish;
}

int ReworkPolicy::Rebase(const std::string& id, std::string conflict_json) {
  conflicts_[id] = std::move(conflict_json);
  return ++rebases_[id];
}

int ReworkPolicy::FixUp(const std::string& id, std::string failure_json) {
  failures_[id] = std::move(failure_json);
  return ++fixups_[id];
}

std::optional<std::string> ReworkPolicy::TakeConflict(const std::string& id) {
  auto it = conflicts_.find(id);
  if (it == conflicts_.end()) return std::nullopt;
  std::string json = std::move(it->second);
  conflicts_.erase(it);
  return json;
}

const std::string* ReworkPolicy::failure(const std::string& id) const {
  auto it = failures_.find(id);
  return it == failures_.end() ? nullptr : &it->second;
}

int ReworkPolicy::rebases(const std::string& id) const {
  auto it = rebases_.find(id);
  return it == rebases_.end() ? 0 : it->second;
}

int ReworkPolicy::fixups(const std::string& id) const {
  auto it = fixups_.find(id);
  return it == fixups_.end() ? 0 : it->second;
}

void ReworkPolicy::Restore(std::map<std::string, int> rebases, std::map<std::string, std::string> conflicts,
                           std::map<std::string, int> fixups, std::map<std::string, std::string> failures) {
  rebases_ = std::move(rebases);
  conflicts_ = std::move(conflicts);
  fixups_ = std::move(fixups);
  failures_ = std::move(failures);
}

}  // namespace swarm
