#include "orchestrator/run_admin.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "git/integration_repo.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/recovery.h"
#include "orchestrator/run/run_closer.h"
#include "orchestrator/run/run_events.h"
#include "orchestrator/run/run_layout.h"
#include "orchestrator/run/run_result.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/run/unpublished_work.h"
#include "orchestrator/store/cancel_file.h"
#include "orchestrator/store/event_kinds.h"
#include "orchestrator/store/run_lock.h"
#include "orchestrator/store/store.h"
#include "sandbox/pid_ledger.h"
#include "sandbox/resource_scope.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& state_dir) {
  std::string db = state_dir + "/swarm.db";
  if (access(db.c_str(), F_OK) != 0) return absl::NotFoundError(absl::StrCat("no runs in ", state_dir));
  return Store::Open(db);
}

bool Finished(const std::string& state) {
  return state == "completed" || state == "failed" || state == "cancelled" || state == "budget";
}

// What a dead coordinator leaves outside the records: processes, tmpfs and disk workspaces.
void RemoveLeftovers(const RunRow& run) {
  PidLedger(run.run_dir + "/pids").KillAll();
  RemoveWorkspacesAndSocket(run.id, run.run_dir);
  std::error_code ec;
  fs::remove_all(run.run_dir + "/live", ec);  // what killed hosts left of their attempts' live logs
}

// A run's directory is where this state directory keeps it, whatever path was recorded (a copied or
// moved state directory must never act on the original).
RunRow Here(RunRow run, const std::string& state_dir) {
  run.run_dir = state_dir + "/runs/" + run.id;
  return run;
}


std::uintmax_t SizeOf(const fs::path& p) {
  std::error_code ec;
  std::uintmax_t total = 0;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
  for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

absl::Status CancelRun(const std::string& state_dir, const std::string& run_id, const std::string& reason,
                       std::chrono::seconds wait, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(state_dir);
  if (!store.ok()) return store.status();
  absl::StatusOr<RunRow> run = (*store)->Run(run_id);
  if (!run.ok()) return absl::NotFoundError(absl::StrCat("no run ", run_id, " in ", state_dir));
  run = Here(*run, state_dir);
  if (Finished(run->state)) {
    return absl::InvalidArgumentError(absl::StrCat("run ", run_id, " has already finished (", run->state, ")"));
  }
  if (int pid = RunLock::Holder(run->run_dir); pid != 0) {
    if (absl::Status st = WriteCancelFile(run->run_dir, reason); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("cannot ask the coordinator to cancel: ", st.message()));
    }
    out << "swarm: asked the coordinator of " << run_id << " (pid " << pid << ") to cancel\n";
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      absl::StatusOr<RunRow> now = (*store)->Run(run_id);
      if (now.ok() && Finished(now->state)) {
        out << "swarm: run " << run_id << " " << now->state << "\n";
        return absl::OkStatus();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("run ", run_id, " did not finish within ", wait.count(), " s of the cancel request"));
  }
  // The coordinator is dead: take the run (so no resume starts meanwhile), look again, and close it
  // here the way a coordinator would: reconcile with the ref, publish what landed, then record.
  absl::StatusOr<RunLock> lock = RunLock::Acquire(run->run_dir);
  if (!lock.ok()) return lock.status();
  run = (*store)->Run(run_id);
  if (!run.ok()) return run.status();
  run = Here(*run, state_dir);
  if (Finished(run->state)) {
    return absl::InvalidArgumentError(absl::StrCat("run ", run_id, " has already finished (", run->state, ")"));
  }
  RemoveLeftovers(*run);
  ResourceScope::RemoveAbandoned();
  auto emit = [&](v1::Event e) {
    e.set_run_id(run_id);
    return (*store)->Apply(e);
  };
  // Replaced by CloseRun's once the run is reconciled.
  v1::Event finished;
  SetState(*finished.mutable_run_finished(), v1::RUN_STATE_CANCELLED);
  finished.mutable_run_finished()->set_head(run->head);
  finished.mutable_run_finished()->set_exit_code(kExitCancelled);
  std::vector<v1::Event> events;
  std::string branch, why_not;
  // What the run needs to be reconciled and published: its settings, its repository, its ref.
  absl::StatusOr<PreparedRun> prepared =
      PrepareResume(state_dir, run_id, /*locked_by_us=*/true, /*budget_usd=*/0, /*will_run=*/false);
  absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo =
      prepared.ok() ? IntegrationRepo::Open(run->run_dir + "/integration.git")
                    : absl::StatusOr<std::unique_ptr<IntegrationRepo>>(prepared.status());
  absl::StatusOr<Recovery> rec =
      repo.ok() ? Recover(**store, **repo, prepared->plan, run_id, prepared->base, prepared->config.test_command)
                : absl::StatusOr<Recovery>(repo.status());
  if (rec.ok()) {
    events = std::move(rec->missing);
    RunEnding ending{.cancel_exit = kExitCancelled, .total = static_cast<int>(rec->subtasks.size())};
    for (const auto& [id, s] : rec->subtasks) {
      using State = Scheduler::State;
      if (s.state == State::kLanded) ++ending.landed;
      if (s.state == State::kFailed) ++ending.failed;
      if (s.state == State::kSkipped) ++ending.skipped;
      if (s.state == State::kNoChange) ++ending.no_change;
      const bool terminal = Scheduler::IsTerminal(s.state);
      if (terminal && !s.needs_finished_event) continue;
      events.push_back(SubtaskFinishedEvent(id, terminal ? v1::LANDED : v1::CANCELLED,
                                            terminal ? "" : "cancelled: " + reason, ""));
    }
    // Closed as its coordinator would have closed it: the branch and result.patch, and a backlog's
    // resolved issues' branches.
    Scheduler states(prepared->plan, prepared->config.max_attempts);
    for (const auto& [id, s] : rec->subtasks) states.Restore(id, s.state, s.attempts, s.forgiven);
    ClosedRun closed =
        CloseRun(ending, **repo, *prepared->user, ResultBranch(prepared->config, run_id), prepared->base, run->run_dir,
                 /*move_forward=*/true, ResolvedLanes(states, prepared->config.backlog));
    finished = std::move(closed.finished);
    const RunResult& result = closed.result;
    branch = result.branch;
    if (!result.publish_error.empty()) {
      why_not = absl::StrCat("what landed could not be published: ", result.publish_error);
    }
    if (!result.patch_error.empty()) {
      absl::StrAppend(&why_not, why_not.empty() ? "" : "; ", result.patch_error);
    }
  } else {
    // Without them the run is still closed; what landed stays in its private repository, which gc keeps.
    why_not = absl::StrCat("it was not reconciled: ", rec.status().message());
    absl::StatusOr<std::vector<SubtaskRow>> subtasks = (*store)->Subtasks(run_id);
    if (!subtasks.ok()) return subtasks.status();
    for (const auto& s : *subtasks) {
      if (IsFinal(s.state) || s.state == v1::CANCELLED) {
        continue;
      }
      v1::Event e;
      e.mutable_subtask_finished()->set_subtask_id(s.spec.id());
      e.mutable_subtask_finished()->set_state(v1::CANCELLED);
      e.mutable_subtask_finished()->set_reason("cancelled: " + reason);
      events.push_back(std::move(e));
    }
  }
  events.push_back(std::move(finished));
  for (auto& e : events) {
    if (absl::Status st = emit(std::move(e)); !st.ok()) return st;
  }
  out << "swarm: run " << run_id << " had no live coordinator; marked cancelled";
  if (!branch.empty()) out << "; what landed is on " << branch << " in " << prepared->repo_root;
  if (!why_not.empty()) out << "; " << why_not << " (it stays in " << run->run_dir << "/integration.git)";
  out << "\n";
  return absl::OkStatus();
}

absl::Status RemoveRun(const std::string& state_dir, const std::string& run_id, bool force, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(state_dir);
  if (!store.ok()) return store.status();
  absl::StatusOr<RunRow> run = (*store)->Run(run_id);
  if (!run.ok()) return absl::NotFoundError(absl::StrCat("no run ", run_id, " in ", state_dir));
  run = Here(*run, state_dir);
  if (!force && !Finished(run->state)) {
    return absl::InvalidArgumentError(absl::StrCat("run ", run_id, " has not finished (", run->state,
                                                   "); `swarm resume` or `swarm cancel` it, or pass --force"));
  }
  if (!force && HasUnpublishedWork(*run)) {
    return absl::InvalidArgumentError(absl::StrCat("run ", run_id, " has landed work on no branch of ", run->repo,
                                                   "; `swarm resume` it to publish it, or pass --force"));
  }
  absl::StatusOr<RunLock> lock = RunLock::Acquire(run->run_dir);
  if (!lock.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("run ", run_id, " is running; `swarm cancel ", run_id, "` first (", lock.status().message(), ")"));
  }
  RemoveLeftovers(*run);
  std::uintmax_t bytes = SizeOf(run->run_dir);
  std::error_code ec;
  fs::remove_all(run->run_dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot remove ", run->run_dir, ": ", ec.message()));
  if (absl::Status st = (*store)->DeleteRun(run_id); !st.ok()) return st;
  out << "swarm: removed run " << run_id << " (" << (bytes >> 10) << " KiB)";
  if (!run->result_branch.empty()) out << "; its branch " << run->result_branch << " stays in " << run->repo;
  out << "\n";
  return absl::OkStatus();
}

absl::Status CollectGarbage(const std::string& state_dir, const GcOptions& options, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(state_dir);
  if (absl::IsNotFound(store.status())) {
    out << store.status().message() << ": nothing to remove\n";  // a cleanup step in CI: not an error
    return absl::OkStatus();
  }
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<RunRow>> runs = (*store)->Runs();
  if (!runs.ok()) return runs.status();
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const std::int64_t cutoff_ms = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(options.older_than).count();
  const char* verb = options.dry_run ? "would remove" : "removed";
  int cleaned = 0, young = 0;
  std::uintmax_t bytes = 0;
  for (RunRow run : *runs) {
    run = Here(run, state_dir);
    if (!Finished(run.state) || !fs::exists(run.run_dir)) continue;
    if (run.finished_unix_ms > cutoff_ms) {
      ++young;
      continue;
    }
    absl::StatusOr<RunLock> lock = RunLock::Acquire(run.run_dir);
    if (!lock.ok()) continue;  // being resumed right now
    if (HasUnpublishedWork(run)) {
      out << "swarm: keeping " << run.id << ": it has landed work on no branch (`swarm resume " << run.id
          << "` publishes it)\n";
      continue;
    }
    if (!options.dry_run) RemoveLeftovers(run);
    std::vector<std::string> parts;
    std::uintmax_t run_bytes = 0;
    for (const char* part :
         {"logs", "live", "integration.git", "work", "pids", "runtime-dir", "cancel", "test-cache"}) {
      fs::path p = fs::path(run.run_dir) / part;
      std::error_code ec;
      if (!fs::exists(p, ec)) continue;
      run_bytes += SizeOf(p);
      if (!options.dry_run) fs::remove_all(p, ec);
      parts.push_back(part);
    }
    if (parts.empty()) continue;
    out << "swarm: " << verb << " " << run.id << "'s " << absl::StrJoin(parts, ", ") << " (" << (run_bytes >> 10)
        << " KiB)\n";
    bytes += run_bytes;
    ++cleaned;
  }
  out << "swarm: " << (options.dry_run ? "would clean " : "cleaned ") << cleaned << " finished runs, "
      << (options.dry_run ? "freeing " : "freed ") << (bytes >> 10) << " KiB; records and result branches kept";
  if (young > 0) {
    out << "; " << young << (young == 1 ? " run" : " runs") << " finished within the last " << options.older_than_text
        << " kept (--older-than)";
  }
  out << "\n";
  return absl::OkStatus();
}

}  // namespace swarm
