#include "orchestrator/run_admin.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "orchestrator/exit_codes.h"
#include "orchestrator/integration_repo.h"
#include "orchestrator/run_lock.h"
#include "orchestrator/run_setup.h"
#include "orchestrator/store.h"
#include "sandbox/pid_ledger.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& state_dir) {
  std::string db = state_dir + "/swarm.db";
  if (access(db.c_str(), F_OK) != 0) return absl::NotFoundError(absl::StrCat("no runs in ", state_dir));
  return Store::Open(db);
}

bool Finished(const std::string& state) { return state == "completed" || state == "failed" || state == "cancelled"; }

// What a dead coordinator leaves outside the records: processes, tmpfs and disk workspaces.
void RemoveLeftovers(const RunRow& run) {
  PidLedger(run.run_dir + "/pids").KillAll();
  std::error_code ec;
  fs::remove_all("/dev/shm/swarm-" + run.id, ec);
  fs::remove_all(run.run_dir + "/work", ec);
  std::string runtime;
  std::ifstream(run.run_dir + "/runtime-dir") >> runtime;
  if (fs::path(runtime).filename().string().rfind("swarm-", 0) == 0) fs::remove_all(runtime, ec);
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
  if (!run.ok()) return run.status();
  if (Finished(run->state)) {
    return absl::InvalidArgumentError(absl::StrCat("run ", run_id, " has already finished (", run->state, ")"));
  }
  if (int pid = RunLock::Holder(run->run_dir); pid != 0) {
    std::ofstream(run->run_dir + "/cancel") << reason << "\n";
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
  // The coordinator is dead: take the run (so no resume starts meanwhile) and close it here.
  absl::StatusOr<RunLock> lock = RunLock::Acquire(run->run_dir);
  if (!lock.ok()) return lock.status();
  RemoveLeftovers(*run);
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = (*store)->Subtasks(run_id);
  if (!subtasks.ok()) return subtasks.status();
  auto emit = [&](v1::Event e) {
    e.set_run_id(run_id);
    return (*store)->Apply(e);
  };
  for (const auto& s : *subtasks) {
    if (s.state == v1::LANDED || s.state == v1::FAILED || s.state == v1::SKIPPED_DEPENDENCY ||
        s.state == v1::NO_CHANGE || s.state == v1::CANCELLED) {
      continue;
    }
    v1::Event e;
    auto* f = e.mutable_subtask_finished();
    f->set_subtask_id(s.spec.id());
    f->set_state(v1::CANCELLED);
    f->set_reason("cancelled: " + reason);
    if (absl::Status st = emit(std::move(e)); !st.ok()) return st;
  }
  std::string head = run->head;
  if (absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo = IntegrationRepo::Open(run->run_dir + "/integration.git");
      repo.ok()) {
    if (absl::StatusOr<std::string> h = (*repo)->Head(); h.ok()) head = *h;  // the ref is the authority
  }
  v1::Event e;
  auto* f = e.mutable_run_finished();
  f->set_state("cancelled");
  f->set_head(head);
  f->set_exit_code(kExitCancelled);
  if (absl::Status st = emit(std::move(e)); !st.ok()) return st;
  out << "swarm: run " << run_id << " had no live coordinator; marked cancelled (what landed stays in "
      << run->run_dir << "/integration.git; `swarm resume " << run_id << "` continues it)\n";
  return absl::OkStatus();
}

absl::Status RemoveRun(const std::string& state_dir, const std::string& run_id, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(state_dir);
  if (!store.ok()) return store.status();
  absl::StatusOr<RunRow> run = (*store)->Run(run_id);
  if (!run.ok()) return run.status();
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

absl::Status CollectGarbage(const std::string& state_dir, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(state_dir);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<RunRow>> runs = (*store)->Runs();
  if (!runs.ok()) return runs.status();
  int cleaned = 0;
  std::uintmax_t bytes = 0;
  for (const auto& run : *runs) {
    if (!Finished(run.state) || run.run_dir.empty()) continue;
    absl::StatusOr<RunLock> lock = RunLock::Acquire(run.run_dir);
    if (!lock.ok()) continue;  // being resumed right now
    RemoveLeftovers(run);
    bool any = false;
    for (const char* part : {"logs", "integration.git", "work", "pids", "runtime-dir", "cancel"}) {
      fs::path p = fs::path(run.run_dir) / part;
      std::error_code ec;
      if (!fs::exists(p, ec)) continue;
      bytes += SizeOf(p);
      fs::remove_all(p, ec);
      any = true;
    }
    cleaned += any;
  }
  out << "swarm: cleaned " << cleaned << " finished runs, freed " << (bytes >> 10) << " KiB; records and result "
      << "branches kept\n";
  return absl::OkStatus();
}

}  // namespace swarm
