#include "orchestrator/control/run_server.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/run/coordinator.h"
#include "orchestrator/store/event_tail.h"
#include "orchestrator/run/report.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/store/store.h"

namespace swarm {
namespace fs = std::filesystem;

struct RunServer::LiveRun {
  // Two streams on one file (appending), so the coordinator's out and err share no buffer.
  std::ofstream out, err;
  std::thread thread;

 private:
  friend class RunServer;
  // Guarded by RunServer::mu_: only RunServer::CoordinatorOf and ExitCodeOf, which require it, touch them.
  std::unique_ptr<Coordinator> coordinator_;  // null once Run() returned
  int exit_code_ = 0;                         // set when coordinator_ is reset
};

RunServer::RunServer(std::string state_dir, SandboxFactory sandboxes, ServePolicy policy, std::unique_ptr<Store> store,
                     LiveBoard* live)
    : state_dir_(std::move(state_dir)),
      sandboxes_(std::move(sandboxes)),
      policy_(std::move(policy)),
      live_board_(live),
      store_(std::move(store)) {}

RunServer::~RunServer() { Shutdown(); }

std::unique_ptr<Coordinator>& RunServer::CoordinatorOf(LiveRun& run) { return run.coordinator_; }

int& RunServer::ExitCodeOf(LiveRun& run) { return run.exit_code_; }

absl::StatusOr<std::unique_ptr<RunServer>> RunServer::Create(const std::string& state_dir, SandboxFactory sandboxes,
                                                             ServePolicy policy, LiveBoard* live) {
  std::error_code ec;
  fs::create_directories(fs::path(state_dir) / "runs", ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("state directory ", state_dir, " cannot be created: ", ec.message()));
  std::string dir = fs::canonical(state_dir, ec).string();
  if (ec) return absl::PermissionDeniedError(absl::StrCat("state directory ", state_dir, ": ", ec.message()));
  // Opened (and migrated) once here, so that runs starting together never race to create the schema.
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir + "/swarm.db");
  if (!store.ok()) return store.status();
  return std::unique_ptr<RunServer>(
      new RunServer(dir, std::move(sandboxes), std::move(policy), std::move(*store), live));
}

absl::StatusOr<v1::SubmitReply> RunServer::Submit(const v1::RunSpec& spec) {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::UnavailableError("the server is shutting down");
    ReapLocked();
  }
  absl::StatusOr<RunConfig> config = ConfigForServedSpec(spec, policy_, state_dir_);
  if (!config.ok()) return config.status();
  absl::StatusOr<PreparedRun> prepared = PrepareRun(*config, SettingNames::kFields);
  if (!prepared.ok()) return prepared.status();
  if (absl::Status st = CheckServedRepository(*prepared, policy_); !st.ok()) return st;
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = sandboxes_(*config);
  if (!sandbox.ok()) return sandbox.status();

  v1::SubmitReply reply;
  reply.set_run_id(prepared->run_id);
  reply.set_run_dir(absl::StrCat(state_dir_, "/runs/", prepared->run_id));
  std::error_code ec;
  fs::create_directories(reply.run_dir(), ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", reply.run_dir(), ": ", ec.message()));
  auto run = std::make_unique<LiveRun>();
  std::string log = reply.run_dir() + "/coordinator.log";
  run->out.open(log, std::ios::app);
  run->err.open(log, std::ios::app);
  if (!run->out || !run->err) return absl::PermissionDeniedError(absl::StrCat("cannot write ", log));
  run->out << std::unitbuf;
  run->err << std::unitbuf;
  for (const auto& w : prepared->warnings) run->err << "swarm: warning: " << w << "\n";
  std::function<void(const v1::Event&)> on_live = nullptr;
  if (live_board_ != nullptr) on_live = [board = live_board_](const v1::Event& e) { board->Publish(e); };
  auto coordinator = std::make_unique<Coordinator>(std::move(*prepared), std::move(*sandbox), run->out, run->err,
                                                   CoordinatorOptions{.handle_signals = false, .on_live = on_live});

  absl::MutexLock lock(&mu_);
  if (shutting_down_) return absl::UnavailableError("the server is shutting down");
  LiveRun* r = run.get();
  // Alive until the run's thread itself resets the run's pointer to it.
  Coordinator* c = coordinator.get();
  CoordinatorOf(*r) = std::move(coordinator);
  live_[reply.run_id()] = std::move(run);
  r->thread = std::thread([this, r, c, run_id = reply.run_id()] {
    int exit_code = c->Run();
    if (live_board_ != nullptr) live_board_->Forget(run_id);  // its live updates are over
    std::unique_ptr<Coordinator> ended;
    {
      absl::MutexLock lock(&mu_);
      ended = std::move(CoordinatorOf(*r));
      ExitCodeOf(*r) = exit_code;
    }
    // Destroyed here, not under the lock: it removes the run's workspaces.
  });
  return reply;
}

absl::Status RunServer::Cancel(const std::string& run_id, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(run_id);
  if (it != live_.end() && CoordinatorOf(*it->second) != nullptr) {
    CoordinatorOf(*it->second)->RequestCancel(reason.empty() ? "cancelled by a client" : reason);
    return absl::OkStatus();
  }
  absl::StatusOr<RunRow> row = store_->Run(run_id);
  if (!row.ok() && it == live_.end()) return absl::NotFoundError(absl::StrCat("no run ", run_id, " in ", state_dir_));
  if (row.ok() && row->finished_unix_ms == 0 && it == live_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id, " is not run by this server"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("run ", run_id, " already ended", row.ok() ? absl::StrCat(" (", row->state, ")") : ""));
}

absl::StatusOr<v1::RunStatus> RunServer::StatusFromStore(const std::string& run_id) {
  absl::StatusOr<RunRow> row = store_->Run(run_id);
  if (!row.ok()) return row.status();
  v1::RunStatus s;
  s.set_run_id(row->id);
  s.set_state(row->state);
  s.set_repo(row->repo);
  s.set_base(row->base);
  s.set_head(row->head);
  s.set_result_branch(row->result_branch);
  s.set_run_dir(row->run_dir);
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = store_->Subtasks(run_id);
  if (!subtasks.ok()) return subtasks.status();
  for (const auto& t : *subtasks) ++(*s.mutable_subtasks())[OutcomeName(t.state)];
  absl::StatusOr<v1::Event> last = store_->LastEvent(run_id);
  if (last.ok()) {
    s.set_last_seq(last->seq());
    if (last->has_run_finished()) {
      s.set_finished(true);
      s.set_exit_code(last->run_finished().exit_code());
    }
  }
  return s;
}

absl::StatusOr<v1::RunStatus> RunServer::Get(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::RunStatus> s = StatusFromStore(run_id);
  if (s.ok() || !absl::IsNotFound(s.status())) return s;
  auto it = live_.find(run_id);
  if (it == live_.end()) return absl::NotFoundError(absl::StrCat("no run ", run_id, " in ", state_dir_));
  // Accepted, but its coordinator has recorded nothing yet (or failed before it could).
  v1::RunStatus starting;
  starting.set_run_id(run_id);
  bool ended = CoordinatorOf(*it->second) == nullptr;
  starting.set_state(ended ? "failed" : "starting");
  starting.set_finished(ended);
  if (ended) starting.set_exit_code(ExitCodeOf(*it->second));
  starting.set_run_dir(absl::StrCat(state_dir_, "/runs/", run_id));
  return starting;
}

absl::StatusOr<std::vector<v1::RunStatus>> RunServer::List() {
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<std::vector<RunRow>> rows = store_->Runs();
    if (!rows.ok()) return rows.status();
    for (const auto& [id, run] : live_) {
      if (!store_->Run(id).ok()) ids.push_back(id);  // not recorded yet: newest of all
    }
    for (const auto& r : *rows) ids.push_back(r.id);
  }
  std::vector<v1::RunStatus> out;
  for (const auto& id : ids) {
    absl::StatusOr<v1::RunStatus> s = Get(id);
    if (s.ok()) out.push_back(std::move(*s));
  }
  return out;
}

bool RunServer::IsLive(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(run_id);
  return it != live_.end() && CoordinatorOf(*it->second) != nullptr;
}

absl::Status RunServer::Watch(const std::string& run_id, std::uint64_t after_seq, const std::function<bool()>& stop,
                              const std::function<bool(const v1::Event&)>& on_event) {
  TailRequest request;
  request.state_dir = state_dir_;
  request.run_id = run_id;
  request.after_seq = after_seq;
  // A run of this server, or one that a `swarm run` elsewhere writes into the same state directory.
  std::function<bool()> holds_lock = CoordinatorHoldsLock(state_dir_, run_id);
  request.alive = [this, run_id, holds_lock] { return IsLive(run_id) || holds_lock(); };
  // Live updates go along, at most ten times a second: after a stored event, or between two looks.
  std::uint64_t live_version = 0;
  auto last_live = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto send_live = [&] {
    if (live_board_ == nullptr || std::chrono::steady_clock::now() - last_live < std::chrono::milliseconds(100)) {
      return true;
    }
    last_live = std::chrono::steady_clock::now();
    for (const v1::Event& e : live_board_->Since(run_id, &live_version)) {
      if (!on_event(e)) return false;
    }
    return true;
  };
  request.stop = [&] { return !send_live() || (stop && stop()); };
  absl::Status st = TailEvents(request, [&](const v1::Event& e) { return on_event(e) && send_live(); });
  if (absl::IsNotFound(st)) {
    absl::MutexLock lock(&mu_);
    if (live_.count(run_id)) {
      return absl::AbortedError(absl::StrCat("run ", run_id, " failed before it recorded anything; see ", state_dir_,
                                             "/runs/", run_id, "/coordinator.log"));
    }
  }
  return st;
}

void RunServer::ReapLocked() {
  for (auto it = live_.begin(); it != live_.end();) {
    if (CoordinatorOf(*it->second) == nullptr) {
      it->second->thread.join();  // it has ended or is only destroying its coordinator
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
}

void RunServer::Shutdown() {
  std::map<std::string, std::unique_ptr<LiveRun>> runs;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [id, run] : live_) {
      if (CoordinatorOf(*run) != nullptr) CoordinatorOf(*run)->RequestCancel("the server is shutting down");
    }
  }
  // Joined without the lock: a run's thread takes it as it ends. Entries stay in live_ until joined so
  // that Cancel and Get still find them meanwhile.
  std::vector<LiveRun*> pending;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, run] : live_) pending.push_back(run.get());
  }
  for (LiveRun* run : pending) {
    if (run->thread.joinable()) run->thread.join();
  }
  absl::MutexLock lock(&mu_);
  live_.clear();
}

}  // namespace swarm
