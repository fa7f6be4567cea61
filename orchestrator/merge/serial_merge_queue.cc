#include "orchestrator/merge/serial_merge_queue.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/failpoint.h"
#include "orchestrator/merge/internal/landing_message.h"

namespace swarm {


SerialMergeQueue::SerialMergeQueue(const IntegrationRepo& repo, TestGate& gate, std::string run_id, TestOutcome head)
    : repo_(repo), gate_(gate), run_id_(std::move(run_id)), head_(std::move(head)), worker_([this] { Loop(); }) {}

SerialMergeQueue::~SerialMergeQueue() { Shutdown(); }

void SerialMergeQueue::Submit(MergeRequest request, std::function<void(MergeResult)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.emplace_back(std::move(request), std::move(done));
      cv_.Signal();
      return;
    }
  }
  MergeResult r;  // answered without the lock: a callback may call back into the queue
  r.detail = "cancelled";
  done(r);
}

void SerialMergeQueue::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (worker_.joinable()) worker_.join();
}

void SerialMergeQueue::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  gate_.KillRunning();
}

void SerialMergeQueue::Loop() {
  for (;;) {
    // Taken under the lock; the callbacks run without it.
    std::deque<std::pair<MergeRequest, std::function<void(MergeResult)>>> pending;  // when stopping
    std::optional<std::pair<MergeRequest, std::function<void(MergeResult)>>> next;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
      if (stopping_) {
        pending = std::move(queue_);
      } else {
        next = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (!next) {
      for (auto& [request, done] : pending) {
        MergeResult r;
        r.detail = "cancelled";
        done(r);
      }
      return;
    }
    auto& [request, done] = *next;
    done(Merge(request));
  }
}

MergeResult SerialMergeQueue::Merge(const MergeRequest& request) {
  MergeResult result;
  auto fail = [&](MergeResult::Outcome outcome, const absl::Status& st) {
    result.outcome = outcome;
    result.detail = std::string(st.message());
    return result;
  };
  absl::StatusOr<std::string> head = repo_.Head();
  if (!head.ok()) return fail(MergeResult::Outcome::kError, head.status());
  result.old_head = *head;
  // Compose every patch onto the head; intermediate commits only carry the history merge-tree needs
  // to find each patch's base.
  std::string current = *head, tree;
  for (std::size_t i = 0; i < request.patches.size(); ++i) {
    absl::StatusOr<std::string> merged = repo_.MergeTree(current, request.patches[i].commit);
    if (!merged.ok()) {
      bool conflict = merged.status().code() == absl::StatusCode::kAborted;
      result.outcome = conflict ? MergeResult::Outcome::kConflict : MergeResult::Outcome::kError;
      result.detail = absl::StrCat(request.patches[i].subtask_id, ": ", merged.status().message());
      if (conflict && request.patches.size() == 1) {
        result.conflict_json = repo_.ConflictJson(current, request.patches[i].commit).value_or("");
      }
      return result;
    }
    tree = *merged;
    if (i + 1 < request.patches.size()) {
      absl::StatusOr<std::string> step = repo_.CommitTree(tree, *head, "swarm: composing");
      if (!step.ok()) return fail(MergeResult::Outcome::kError, step.status());
      current = *step;
    }
  }
  result.tree = tree;
  absl::StatusOr<std::string> head_tree = repo_.git().Run({"rev-parse", *head + "^{tree}"});
  if (head_tree.ok() && TrimNewline(*head_tree) == tree) {
    result.outcome = MergeResult::Outcome::kAlreadyPresent;
    result.detail = "the change is already on the integration head";
    return result;
  }
  absl::StatusOr<std::string> candidate = repo_.CommitTree(tree, *head, LandingMessage(request, run_id_, repo_.author()));
  if (!candidate.ok()) return fail(MergeResult::Outcome::kError, candidate.status());
  std::string label = request.group.empty() ? request.patches[0].subtask_id : "group-" + request.group;
  absl::StatusOr<TestOutcome> tested = gate_.Test(tree, label);
  if (!tested.ok()) return fail(MergeResult::Outcome::kError, tested.status());
  result.tested = true;
  result.log_path = tested->log_path;
  result.test = *tested;
  std::vector<std::string> required;
  for (const auto& p : request.patches) required.insert(required.end(), p.tests.begin(), p.tests.end());
  Verdict verdict = gate_.Judge(head_, *tested, required);
  if (!verdict.pass && tested->timed_out) {
    // A hang is not flaky enough to wait for twice.
    result.outcome = MergeResult::Outcome::kTestsFailed;
    result.detail = verdict.why;
    return result;
  }
  if (!verdict.pass) {
    // Before anything is blamed, the same tree runs once more, whatever the cache says.
    absl::StatusOr<TestOutcome> again = gate_.Test(tree, label + ".rerun", /*use_cache=*/false);
    if (!again.ok()) return fail(MergeResult::Outcome::kError, again.status());
    Verdict second = gate_.Judge(head_, *again, required);
    if (second.pass) {
      result.flaky_tests = FlakyTests(*tested, *again, gate_.format());
      result.test = *again;
      result.log_path = again->log_path;
      tested = std::move(again);
    } else {
      result.outcome = MergeResult::Outcome::kTestsFailed;
      result.detail = verdict.why;
      if (request.patches.size() == 1) {
        // Blame: does the patch fail alone, on its own base, or only with what landed since?
        absl::StatusOr<std::string> own = repo_.git().Run({"rev-parse", request.patches[0].commit + "^{tree}"});
        absl::StatusOr<TestOutcome> alone =
            own.ok() ? gate_.Test(TrimNewline(*own), label + ".alone") : absl::StatusOr<TestOutcome>(own.status());
        if (alone.ok() && gate_.Judge(head_, *alone, required).pass) {
          result.detail += " (it passes alone on its own base: it breaks only together with what landed since)";
        }
      }
      return result;
    }
  }
  Failpoint("tested");
  // Only this queue moves the ref, so the swap fails only if something outside swarm moved it.
  if (absl::Status st = repo_.CompareAndSwap(*candidate, *head); !st.ok()) {
    return fail(MergeResult::Outcome::kError, st);
  }
  Failpoint("ref_moved");
  result.outcome = MergeResult::Outcome::kLanded;
  result.commit = *candidate;
  head_ = *tested;
  return result;
}

}  // namespace swarm
