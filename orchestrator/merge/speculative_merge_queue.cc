#include "orchestrator/merge/speculative_merge_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/failpoint.h"
#include "orchestrator/merge/internal/landing_message.h"

namespace swarm {

SpeculativeMergeQueue::SpeculativeMergeQueue(const IntegrationRepo& repo, TestGate& gate, std::string run_id,
                                             TestOutcome head, Options options)
    : repo_(repo),
      gate_(gate),
      run_id_(std::move(run_id)),
      options_{std::max(1, options.depth), std::max(1, options.max_batch), options.ref, options.test_head_first,
               options.on_testing},
      head_(std::move(head)),
      head_known_(!options.test_head_first || gate.format() == TestFormat::kExit),  // a landed head passed
      worker_([this] { Loop(); }) {}

SpeculativeMergeQueue::~SpeculativeMergeQueue() { Shutdown(); }

void SpeculativeMergeQueue::Submit(MergeRequest request, std::function<void(MergeResult)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      incoming_.push_back({std::move(request), std::move(done)});
      cv_.Signal();
      return;
    }
  }
  MergeResult r;  // answered without the lock: a callback may call back into the queue
  r.detail = "cancelled";
  done(r);
}

void SpeculativeMergeQueue::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (worker_.joinable()) worker_.join();
}

void SpeculativeMergeQueue::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  gate_.KillRunning();
}

void SpeculativeMergeQueue::Finish(Item& item, MergeResult result) {
  auto done = std::move(item.done);
  item.done = nullptr;
  if (done) done(std::move(result));
}

void SpeculativeMergeQueue::Loop() {
  std::deque<Unit> units;
  for (;;) {
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && incoming_.empty() && units.empty()) cv_.Wait(&mu_);
      stopping = stopping_;
      for (auto& item : incoming_) units.push_back(Unit{{std::move(item)}});
      incoming_.clear();
    }
    if (stopping) {
      // Answered without the lock: a callback may call back into the queue.
      for (auto& unit : units) {
        for (auto& item : unit.items) {
          MergeResult r;
          r.detail = "cancelled";
          Finish(item, r);
        }
      }
      return;
    }
    Round(units);
  }
}

std::vector<SpeculativeMergeQueue::Position> SpeculativeMergeQueue::Compose(std::deque<Unit>& units,
                                                                           const std::string& head) {
  // Units: one request each as they arrive; with a long queue, consecutive ones share a position.
  std::size_t waiting = 0;
  for (const auto& u : units) waiting += u.items.size();
  std::size_t batch = std::clamp<std::size_t>((waiting + options_.depth - 1) / options_.depth, 1,
                                              static_cast<std::size_t>(options_.max_batch));
  std::vector<Position> positions;
  while (positions.size() < static_cast<std::size_t>(options_.depth) && !units.empty()) {
    Position p;
    p.split = units.front().split;
    p.items = std::move(units.front().items);
    units.pop_front();
    while (!p.split && p.items.size() < batch && !units.empty() && !units.front().split) {
      for (auto& item : units.front().items) p.items.push_back(std::move(item));
      units.pop_front();
    }
    positions.push_back(std::move(p));
  }

  // The chain: each request one commit on the one before, so each candidate is a prefix of it.
  std::string current = head;
  absl::StatusOr<std::string> current_tree = repo_.git().Run({"rev-parse", head + "^{tree}"});
  std::vector<Position> composed;
  // A request that conflicts with (or repeats) requests ahead of it that have not landed is not judged
  // on them: it and everything behind it wait for the next round, on what actually landed.
  std::vector<Item> deferred;
  for (auto& p : positions) {
    std::vector<Item> kept;
    for (auto& item : p.items) {
      if (!deferred.empty()) {
        deferred.push_back(std::move(item));
        continue;
      }
      const MergeRequest& request = item.request;
      MergeResult fail;
      fail.old_head = current;
      std::string onto = current, tree;
      bool ok = current_tree.ok();
      for (std::size_t i = 0; ok && i < request.patches.size(); ++i) {
        absl::StatusOr<std::string> merged = repo_.MergeTree(onto, request.patches[i].commit);
        if (!merged.ok()) {
          bool conflict = merged.status().code() == absl::StatusCode::kAborted;
          fail.outcome = conflict ? MergeResult::Outcome::kConflict : MergeResult::Outcome::kError;
          fail.detail = absl::StrCat(request.patches[i].subtask_id, ": ", merged.status().message());
          if (conflict && request.patches.size() == 1) {
            fail.conflict_json = repo_.ConflictJson(onto, request.patches[i].commit).value_or("");
          }
          ok = false;
          break;
        }
        tree = *merged;
        if (i + 1 < request.patches.size()) {
          absl::StatusOr<std::string> step = repo_.CommitTree(tree, current, "swarm: composing");
          if (!step.ok()) {
            fail.detail = std::string(step.status().message());
            ok = false;
            break;
          }
          onto = *step;
        }
      }
      if (!ok && fail.outcome == MergeResult::Outcome::kConflict && current != head) {
        deferred.push_back(std::move(item));
        continue;
      }
      if (!ok) {
        if (!current_tree.ok()) fail.detail = std::string(current_tree.status().message());
        Finish(item, fail);
        continue;
      }
      if (tree == TrimNewline(*current_tree) && current != head) {
        deferred.push_back(std::move(item));
        continue;
      }
      if (tree == TrimNewline(*current_tree)) {
        MergeResult same;
        same.outcome = MergeResult::Outcome::kAlreadyPresent;
        same.detail = "the change is already on the integration head";
        Finish(item, same);
        continue;
      }
      absl::StatusOr<std::string> commit = repo_.CommitTree(tree, current, LandingMessage(request, run_id_, repo_.author()));
      if (!commit.ok()) {
        fail.detail = std::string(commit.status().message());
        Finish(item, fail);
        continue;
      }
      current = *commit;
      current_tree = tree;
      p.commits.push_back(*commit);
      kept.push_back(std::move(item));
    }
    p.items = std::move(kept);
    if (p.items.empty()) continue;
    p.candidate = current;
    p.tree = TrimNewline(*current_tree);
    composed.push_back(std::move(p));
  }
  for (auto it = deferred.rbegin(); it != deferred.rend(); ++it) units.push_front(Unit{{std::move(*it)}, false});
  return composed;
}

void SpeculativeMergeQueue::Round(std::deque<Unit>& units) {
  absl::StatusOr<std::string> head = repo_.Head(options_.ref);
  if (!head.ok()) {
    for (auto& unit : units) {
      for (auto& item : unit.items) {
        MergeResult r;
        r.detail = std::string(head.status().message());
        Finish(item, r);
      }
    }
    units.clear();
    return;
  }
  if (!head_known_) {
    // Only a complete run is a baseline: anything else would let every candidate pass.
    absl::StatusOr<std::string> tree = repo_.git().Run({"rev-parse", *head + "^{tree}"});
    absl::StatusOr<TestOutcome> tested =
        tree.ok() ? gate_.Test(TrimNewline(*tree), "head-" + head->substr(0, 12)) : tree.status();
    if (tested.ok() && tested->results.ran && !tested->timed_out) {
      head_ = *tested;
      head_known_ = true;
    } else {
      for (auto& unit : units) {
        for (auto& item : unit.items) {
          MergeResult r;
          r.detail = absl::StrCat("the tests gave no results on the lane's head ", head->substr(0, 12));
          Finish(item, r);
        }
      }
      units.clear();
      return;
    }
  }
  std::vector<Position> positions = Compose(units, *head);
  if (positions.empty()) return;

  // Every candidate at once.
  std::vector<std::string> under_test;
  for (const Position& p : positions) {
    for (const Item& item : p.items) {
      for (const auto& patch : item.request.patches) under_test.push_back(patch.subtask_id);
    }
  }
  const TestingScope testing(options_.on_testing, std::move(under_test));  // until the round's reruns end
  std::vector<std::thread> testers;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < positions.size(); ++i) {
    Position& p = positions[i];
    const auto& first = p.items[0].request;
    std::string label = first.group.empty() ? first.patches[0].subtask_id : "group-" + first.group;
    if (p.items.size() > 1) absl::StrAppend(&label, "+", p.items.size() - 1);
    labels.push_back(label);
    testers.emplace_back([this, &p, label] { p.test = gate_.Test(p.tree, label); });
  }
  for (auto& t : testers) t.join();

  // The first candidate that fails (twice: once more before it counts) ends what lands.
  std::vector<std::string> required;
  std::vector<std::vector<std::string>> flaky(positions.size());
  std::size_t failed = positions.size();
  std::string why;
  for (std::size_t i = 0; i < positions.size(); ++i) {
    Position& p = positions[i];
    for (const auto& item : p.items) {
      for (const auto& patch : item.request.patches) required.insert(required.end(), patch.tests.begin(), patch.tests.end());
    }
    if (!p.test.ok()) {
      failed = i;
      why = std::string(p.test.status().message());
      break;
    }
    // Each candidate against the one before it (which passed against its own, down to the head): a
    // request may not break what a request ahead of it fixed.
    const TestOutcome& baseline = i == 0 ? head_ : *positions[i - 1].test;
    Verdict verdict = gate_.Judge(baseline, *p.test, required);
    if (!verdict.pass && !p.test->timed_out) {
      absl::StatusOr<TestOutcome> again = gate_.Test(p.tree, labels[i] + ".rerun", /*use_cache=*/false);
      if (again.ok() && gate_.Judge(baseline, *again, required).pass) {
        flaky[i] = FlakyTests(*p.test, *again, gate_.format());
        p.test = std::move(again);
        verdict.pass = true;
      }
    }
    if (!verdict.pass) {
      failed = i;
      why = verdict.why;
      break;
    }
  }

  // Land the passing prefix in one compare-and-swap.
  if (failed > 0) {
    const Position& last = positions[failed - 1];
    Failpoint("tested");
    absl::Status swapped = repo_.CompareAndSwap(last.candidate, *head, options_.ref);
    if (!swapped.ok()) {
      // Only this queue moves the ref: something outside swarm did. Nothing here lands.
      for (auto& p : positions) {
        for (auto& item : p.items) {
          MergeResult r;
          r.detail = std::string(swapped.message());
          Finish(item, r);
        }
      }
      return;
    }
    Failpoint("ref_moved");
    std::string previous = *head;
    for (std::size_t i = 0; i < failed; ++i) {
      Position& p = positions[i];
      for (std::size_t k = 0; k < p.items.size(); ++k) {
        MergeResult r;
        r.outcome = MergeResult::Outcome::kLanded;
        r.commit = p.commits[k];
        r.old_head = previous;
        r.tree = k + 1 == p.items.size() ? p.tree : TrimNewline(repo_.git().Run({"rev-parse", p.commits[k] + "^{tree}"}).value_or(""));
        if (k + 1 == p.items.size()) {  // the candidate's test speaks for the whole position
          r.tested = true;
          r.test = *p.test;
          r.log_path = p.test->log_path;
          r.flaky_tests = flaky[i];
        }
        previous = p.commits[k];
        Finish(p.items[k], r);
      }
    }
    head_ = *positions[failed - 1].test;
  }
  if (failed == positions.size()) return;

  // The first failure: one request is rejected; a batch is split, its parts to the front. A test that
  // could not run at all is the machine's failure, not the requests': they fail as merge errors.
  std::vector<Unit> front;
  Position& bad = positions[failed];
  if (!bad.test.ok()) {
    for (auto& item : bad.items) {
      MergeResult r;
      r.detail = absl::StrCat("the candidate could not be tested: ", why);
      Finish(item, r);
    }
  } else if (bad.items.size() == 1) {
    MergeResult r;
    r.outcome = MergeResult::Outcome::kTestsFailed;
    r.detail = why;
    r.tree = bad.tree;
    if (bad.test.ok()) {
      r.tested = true;
      r.test = *bad.test;
      r.log_path = bad.test->log_path;
    }
    r.old_head = failed > 0 ? positions[failed - 1].candidate : *head;
    Finish(bad.items[0], r);
  } else {
    // Into as many parts as candidates run at once, so the next round tests every part's prefix
    // together and finds the failing part in one step (halves with depth 2; a D-ary search in general).
    std::size_t parts = std::min<std::size_t>(std::max(2, options_.depth), bad.items.size());
    std::vector<Unit> split(parts, Unit{{}, true});
    for (std::size_t k = 0; k < bad.items.size(); ++k) split[k * parts / bad.items.size()].items.push_back(std::move(bad.items[k]));
    for (auto& u : split) front.push_back(std::move(u));
  }
  // The candidates behind it are rebuilt without it.
  for (std::size_t i = failed + 1; i < positions.size(); ++i) {
    for (auto& item : positions[i].items) front.push_back(Unit{{std::move(item)}, false});
  }
  units.insert(units.begin(), std::make_move_iterator(front.begin()), std::make_move_iterator(front.end()));
}

}  // namespace swarm
