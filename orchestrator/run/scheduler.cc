#include "orchestrator/run/scheduler.h"

#include "base/check.h"

namespace swarm {

Scheduler::Scheduler(const Plan& plan, int max_attempts) : max_attempts_(max_attempts), groups_(plan.groups) {
  for (const auto& s : plan.subtasks) {
    order_.push_back(s.id());
    subtasks_[s.id()].spec = s;
  }
}

bool Scheduler::IsTerminal(State s) const {
  return s == State::kLanded || s == State::kFailed || s == State::kSkipped || s == State::kNoChange;
}

bool Scheduler::FilesBusy(const v1::Subtask& s) const {
  if (s.files_size() == 0) return false;
  std::set<std::string> mine(s.files().begin(), s.files().end());
  for (const auto& [id, e] : subtasks_) {
    // A patch not yet landed still owns its files (a subtask leased now would start from a stale
    // base), except within a group, whose members land together and cannot wait for each other.
    bool same_group = !s.group().empty() && e.spec.group() == s.group();
    bool owns = e.state == State::kRunning ||
                (!same_group && (e.state == State::kPatchReady || e.state == State::kMerging));
    if (!owns) continue;
    for (const auto& f : e.spec.files()) {
      if (mine.count(f)) return true;
    }
  }
  return false;
}

std::optional<std::string> Scheduler::TakeReady() {
  for (const auto& id : order_) {
    Entry& e = subtasks_[id];
    if (e.state != State::kPending) continue;
    bool ready = true;
    for (const auto& d : e.spec.depends_on()) {
      State ds = subtasks_[d].state;
      if (ds != State::kLanded && ds != State::kNoChange) ready = false;
    }
    if (!ready || FilesBusy(e.spec)) continue;
    e.state = State::kRunning;
    ++e.attempts;
    return id;
  }
  return std::nullopt;
}

void Scheduler::Restore(const std::string& id, State state, int attempts, int forgiven) {
  Entry& e = MustFind(subtasks_, id, "subtask");
  e.state = state;
  e.attempts = attempts;
  e.forgiven = forgiven;
}

bool Scheduler::AttemptFailed(const std::string& id) {
  Entry& e = MustFind(subtasks_, id, "subtask");
  if (e.attempts - e.forgiven < max_attempts_) {
    e.state = State::kPending;
    return true;
  }
  e.state = State::kFailed;
  return false;
}

void Scheduler::Rebase(const std::string& id) {
  Entry& e = MustFind(subtasks_, id, "subtask");
  e.state = State::kPending;
  ++e.forgiven;
}

void Scheduler::AttemptSucceeded(const std::string& id, bool no_change) {
  MustFind(subtasks_, id, "subtask").state = no_change ? State::kNoChange : State::kPatchReady;
}

std::vector<std::vector<std::string>> Scheduler::TakeMergeable(std::vector<std::string>* failed_groups) {
  std::vector<std::vector<std::string>> out;
  std::set<std::string> seen_groups;
  for (const auto& id : order_) {
    Entry& e = subtasks_[id];
    const std::string& group = e.spec.group();
    if (group.empty()) {
      if (e.state == State::kPatchReady) {
        e.state = State::kMerging;
        out.push_back({id});
      }
      continue;
    }
    if (MustFind(groups_, group, "group").partial) {
      // A partial group's members land one by one, each as soon as it passes: the largest part of it
      // that passes lands, and a member that fails does not hold back the others.
      if (e.state == State::kPatchReady) {
        e.state = State::kMerging;
        out.push_back({id});
      }
      continue;
    }
    if (!seen_groups.insert(group).second) continue;
    const auto& members = MustFind(groups_, group, "group").members;
    bool all_done = true, any_failed = false, any_patch = false;
    for (const auto& m : members) {
      State s = subtasks_[m].state;
      if (s == State::kFailed || s == State::kSkipped) any_failed = true;
      if (s == State::kPatchReady) any_patch = true;
      if (s != State::kPatchReady && s != State::kNoChange && s != State::kFailed && s != State::kSkipped) {
        all_done = false;
      }
    }
    if (!all_done) continue;
    if (any_failed && any_patch) {
      // An atomic group lands whole or not at all.
      for (const auto& m : members) {
        if (subtasks_[m].state == State::kPatchReady) subtasks_[m].state = State::kFailed;
      }
      if (failed_groups != nullptr) failed_groups->push_back(group);
      continue;
    }
    std::vector<std::string> batch;
    for (const auto& m : members) {
      if (subtasks_[m].state == State::kPatchReady) {
        subtasks_[m].state = State::kMerging;
        batch.push_back(m);
      }
    }
    if (!batch.empty()) out.push_back(std::move(batch));
  }
  return out;
}

void Scheduler::Finish(const std::string& id, State state) { MustFind(subtasks_, id, "subtask").state = state; }

std::vector<std::string> Scheduler::TakeBlocked() {
  std::vector<std::string> out;
  bool changed = true;
  while (changed) {  // skipping one can block the ones that depend on it
    changed = false;
    for (const auto& id : order_) {
      Entry& e = subtasks_[id];
      if (e.state != State::kPending) continue;
      for (const auto& d : e.spec.depends_on()) {
        State ds = subtasks_[d].state;
        if (ds == State::kFailed || ds == State::kSkipped) {
          e.state = State::kSkipped;
          out.push_back(id);
          changed = true;
          break;
        }
      }
    }
  }
  return out;
}

bool Scheduler::AllDone() const {
  for (const auto& [id, e] : subtasks_) {
    if (!IsTerminal(e.state)) return false;
  }
  return true;
}

int Scheduler::Count(State state) const {
  int n = 0;
  for (const auto& [id, e] : subtasks_) n += e.state == state;
  return n;
}

}  // namespace swarm
