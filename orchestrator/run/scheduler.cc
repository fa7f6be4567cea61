#include "orchestrator/run/scheduler.h"

#include <algorithm>
#include <deque>

#include "base/check.h"

namespace swarm {

Scheduler::Scheduler(const Plan& plan, int max_attempts, int max_running_per_lane)
    : max_attempts_(max_attempts), max_running_per_lane_(max_running_per_lane), groups_(plan.groups) {
  entries_.resize(plan.subtasks.size());
  for (std::size_t i = 0; i < plan.subtasks.size(); ++i) {
    const v1::Subtask& s = plan.subtasks[i];
    order_.push_back(s.id());
    index_[s.id()] = static_cast<int>(i);
    entries_[i].spec = s;
    entries_[i].index = static_cast<int>(i);
  }
  for (Entry& e : entries_) {
    for (const auto& d : e.spec.depends_on()) {
      auto it = index_.find(d);
      if (it == index_.end()) continue;
      entries_[it->second].dependents.push_back(e.index);
      ++e.unmet;
    }
  }
  // The chain each subtask heads, from the leaves up (a validated plan has no cycle; on one, the
  // subtasks of the cycle weigh only themselves).
  std::vector<int> waiting(entries_.size());
  std::deque<int> done;
  for (const Entry& e : entries_) {
    waiting[e.index] = static_cast<int>(e.dependents.size());
    if (e.dependents.empty()) done.push_back(e.index);
  }
  for (Entry& e : entries_) e.chain = e.spec.estimate_s() > 0 ? e.spec.estimate_s() : 1.0;
  while (!done.empty()) {
    Entry& e = entries_[done.front()];
    done.pop_front();
    double longest = 0;
    for (int j : e.dependents) longest = std::max(longest, entries_[j].chain);
    e.chain += longest;
    for (const auto& d : e.spec.depends_on()) {
      auto it = index_.find(d);
      if (it != index_.end() && --waiting[it->second] == 0) done.push_back(it->second);
    }
  }
  counts_[static_cast<int>(State::kPending)] = static_cast<int>(entries_.size());
  for (Entry& e : entries_) {
    Reindex(e);
    if (!e.spec.lane().empty()) ++lane_open_[e.spec.lane()];
  }
}

const Scheduler::Entry& Scheduler::At(const std::string& id) const {
  return entries_[MustFind(index_, id, "subtask")];
}

Scheduler::Entry& Scheduler::At(const std::string& id) { return entries_[MustFind(index_, id, "subtask")]; }

std::vector<std::string> Scheduler::TakeFinishedLanes() {
  std::vector<std::string> lanes;
  lanes.swap(finished_lanes_);
  return lanes;
}

bool Scheduler::IsTerminal(State s) {
  return s == State::kLanded || s == State::kFailed || s == State::kSkipped || s == State::kNoChange;
}

void Scheduler::Reindex(Entry& e) {
  const ReadyKey key{-e.chain, e.index};
  if (e.state == State::kPending && e.unmet == 0) {
    ready_.insert(key);
  } else {
    ready_.erase(key);
  }
}

void Scheduler::Set(Entry& e, State state) {
  const State old = e.state;
  if (old == state) return;
  --counts_[static_cast<int>(old)];
  ++counts_[static_cast<int>(state)];
  if ((old == State::kRunning) != (state == State::kRunning)) {
    int& running = lane_running_[e.spec.lane()];
    running += state == State::kRunning ? 1 : -1;
    if (running == 0) lane_running_.erase(e.spec.lane());
  }
  if (OwnsFiles(old) != OwnsFiles(state)) {
    for (const auto& f : e.spec.files()) {
      if (OwnsFiles(state)) {
        owners_[FileKey(e, f)].insert(e.index);
      } else if (auto it = owners_.find(FileKey(e, f)); it != owners_.end()) {
        it->second.erase(e.index);
        if (it->second.empty()) owners_.erase(it);
      }
    }
  }
  if (!e.spec.lane().empty() && IsTerminal(old) != IsTerminal(state)) {
    int& open = lane_open_[e.spec.lane()];
    open += IsTerminal(state) ? -1 : 1;
    if (open == 0) finished_lanes_.push_back(e.spec.lane());
  }
  if (old == State::kPatchReady) patch_ready_.erase(e.index);
  if (state == State::kPatchReady) patch_ready_.insert(e.index);
  if ((state == State::kFailed || state == State::kSkipped) && old != State::kFailed && old != State::kSkipped) {
    newly_failed_.push_back(e.index);
  }
  e.state = state;
  Reindex(e);
  if (Met(old) != Met(state)) {
    for (int j : e.dependents) {
      entries_[j].unmet += Met(state) ? -1 : 1;
      Reindex(entries_[j]);
    }
  }
}

std::string Scheduler::FileKey(const Entry& e, const std::string& file) {
  // Lanes land on separate refs: the same file in two lanes is no clash.
  return e.spec.lane().empty() ? file : e.spec.lane() + '\0' + file;
}

bool Scheduler::LaneFull(const std::string& lane) const {
  if (max_running_per_lane_ <= 0) return false;
  auto it = lane_running_.find(lane);
  return it != lane_running_.end() && it->second >= max_running_per_lane_;
}

bool Scheduler::FilesBusy(const Entry& e) const {
  for (const auto& f : e.spec.files()) {
    auto it = owners_.find(FileKey(e, f));
    if (it == owners_.end()) continue;
    for (int o : it->second) {
      const Entry& owner = entries_[o];
      if (o == e.index) continue;
      // A patch not yet landed still owns its files (a subtask leased now would start from a stale
      // base), except within a group, whose members land together and cannot wait for each other.
      bool same_group = !e.spec.group().empty() && owner.spec.group() == e.spec.group();
      if (owner.state == State::kRunning || !same_group) return true;
    }
  }
  return false;
}

std::optional<std::string> Scheduler::TakeReady() {
  for (const auto& [neg_chain, index] : ready_) {
    Entry& e = entries_[index];
    if (LaneFull(e.spec.lane()) || FilesBusy(e)) continue;
    Set(e, State::kRunning);  // leaves ready_: the loop ends here
    ++e.attempts;
    return e.spec.id();
  }
  return std::nullopt;
}

void Scheduler::Restore(const std::string& id, State state, int attempts, int forgiven) {
  Entry& e = At(id);
  Set(e, state);
  e.attempts = attempts;
  e.forgiven = forgiven;
}

bool Scheduler::AttemptFailed(const std::string& id) {
  Entry& e = At(id);
  if (e.attempts - e.forgiven < max_attempts_) {
    Set(e, State::kPending);
    return true;
  }
  Set(e, State::kFailed);
  return false;
}

void Scheduler::Rebase(const std::string& id) {
  Entry& e = At(id);
  Set(e, State::kPending);
  ++e.forgiven;
}

void Scheduler::AttemptSucceeded(const std::string& id, bool no_change) {
  Set(At(id), no_change ? State::kNoChange : State::kPatchReady);
}

std::vector<std::vector<std::string>> Scheduler::TakeMergeable(std::vector<std::string>* failed_groups) {
  std::vector<std::vector<std::string>> out;
  std::set<std::string> seen_groups;
  const std::vector<int> candidates(patch_ready_.begin(), patch_ready_.end());  // Set() changes the set
  for (int index : candidates) {
    Entry& e = entries_[index];
    if (e.state != State::kPatchReady) continue;  // taken with its group already
    const std::string& group = e.spec.group();
    // A lone subtask, or a member of a partial group: those land one by one, each as soon as it
    // passes, so the largest part of the group that passes lands and a failing member holds back none.
    if (group.empty() || MustFind(groups_, group, "group").partial) {
      Set(e, State::kMerging);
      out.push_back({e.spec.id()});
      continue;
    }
    if (!seen_groups.insert(group).second) continue;
    const auto& members = MustFind(groups_, group, "group").members;
    bool all_done = true, any_failed = false;
    for (const auto& m : members) {
      State s = At(m).state;
      if (s == State::kFailed || s == State::kSkipped) any_failed = true;
      if (s != State::kPatchReady && s != State::kNoChange && s != State::kFailed && s != State::kSkipped) {
        all_done = false;
      }
    }
    if (!all_done) continue;
    if (any_failed) {
      // An atomic group lands whole or not at all.
      for (const auto& m : members) {
        if (At(m).state == State::kPatchReady) Set(At(m), State::kFailed);
      }
      if (failed_groups != nullptr) failed_groups->push_back(group);
      continue;
    }
    std::vector<std::string> batch;
    for (const auto& m : members) {
      if (At(m).state == State::kPatchReady) {
        Set(At(m), State::kMerging);
        batch.push_back(m);
      }
    }
    out.push_back(std::move(batch));
  }
  return out;
}

void Scheduler::Finish(const std::string& id, State state) { Set(At(id), state); }

std::vector<std::string> Scheduler::TakeBlocked() {
  // Skipping one can block the ones that depend on it: Set() queues each newly skipped one too.
  std::vector<int> skipped;
  while (!newly_failed_.empty()) {
    const int index = newly_failed_.back();
    newly_failed_.pop_back();
    for (int j : entries_[index].dependents) {
      if (entries_[j].state != State::kPending) continue;
      Set(entries_[j], State::kSkipped);
      skipped.push_back(j);
    }
  }
  std::sort(skipped.begin(), skipped.end());
  std::vector<std::string> out;
  for (int j : skipped) out.push_back(entries_[j].spec.id());
  return out;
}

bool Scheduler::AllDone() const {
  int terminal = 0;
  for (State s : {State::kLanded, State::kFailed, State::kSkipped, State::kNoChange}) terminal += Count(s);
  return terminal == static_cast<int>(entries_.size());
}

}  // namespace swarm
