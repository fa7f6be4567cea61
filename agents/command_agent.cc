#include "agents/command_agent.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <utility>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agents/attempt.h"
#include "sandbox/pid_ledger.h"
#include "base/utf8.h"

namespace swarm {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;

}  // namespace

CommandAgent::CommandAgent(asio::io_context& io, asio::thread_pool& pool, const Sandbox& sandbox,
                           const v1::Registered& registered, v1::Lease lease, std::string host_id,
                           ModelClient* model, const HostWorkspaces* workspaces)
    : io_(io),
      pool_(pool),
      sandbox_(sandbox),
      registered_(registered),
      lease_(std::move(lease)),
      host_id_(std::move(host_id)),
      dir_(absl::StrCat(registered_.sandbox().workspace_root(), "/", lease_.subtask().id(), ".", lease_.attempt(), ".",
                        lease_.fence())),
      model_(model),
      workspaces_(workspaces) {}

void CommandAgent::Start(Started started, Done done, Activity activity) {
  started_ = std::move(started);
  done_ = std::move(done);
  activity_ = std::move(activity);
  start_ = std::chrono::steady_clock::now();
  auto self = shared_from_this();
  asio::post(pool_, [self] {
    auto ws = MakeAttemptWorkspace(self->sandbox_, self->registered_, self->lease_, self->dir_, *self->workspaces_);
    asio::post(self->io_, [self, ws = std::move(ws)]() mutable { self->OnWorkspace(std::move(ws)); });
  });
}

SandboxPolicy CommandAgent::Policy() const {
  SandboxPolicy p = AgentSandboxPolicy(registered_, lease_, *workspace_, dir_ + "/meta");
  if (endpoint_) {
    p.ro_binds.push_back(endpoint_dir_);
    p.env.push_back("SWARM_MODEL=" + registered_.model());
    p.env.push_back("SWARM_MODEL_SOCKET=" + endpoint_->socket_path());
    p.env.push_back("SWARM_MODEL_URL=http://swarm/v1");
  }
  return p;
}

void CommandAgent::OnWorkspace(absl::StatusOr<std::unique_ptr<Workspace>> ws) {
  if (started_) std::exchange(started_, nullptr)();
  if (!ws.ok()) {
    Fail(absl::StrCat("cannot make the workspace: ", ws.status().message()));
    return;
  }
  workspace_ = std::move(*ws);
  if (killed_) {
    Fail("cancelled");
    return;
  }
  if (!registered_.model().empty() && model_ != nullptr) {
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    std::string tmpl = absl::StrCat(xdg != nullptr && *xdg == '/' && strlen(xdg) < 60 ? xdg : "/tmp", "/swarm-model-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      Fail(absl::StrCat("cannot create ", tmpl, " for the model endpoint"));
      return;
    }
    // Canonical, as bubblewrap binds it: a symlinked /tmp must not leave the socket unreachable.
    std::error_code canonical_error;
    endpoint_dir_ = fs::canonical(tmpl, canonical_error).string();
    if (canonical_error) endpoint_dir_ = tmpl;
    absl::StatusOr<std::unique_ptr<ModelEndpoint>> endpoint =
        ModelEndpoint::Start(io_, endpoint_dir_, *model_, lease_.lease_id(), lease_.fence());
    if (!endpoint.ok()) {
      Fail(absl::StrCat("cannot start the model endpoint: ", endpoint.status().message()));
      return;
    }
    endpoint_ = std::move(*endpoint);
    // The command connects to the socket: it must be the sandbox user's to write.
    if (absl::Status st = sandbox_.HandOver(endpoint_dir_); !st.ok()) {
      Fail(absl::StrCat("cannot start the model endpoint: ", st.message()));
      return;
    }
  }
  absl::StatusOr<SandboxedCommand> prepared = sandbox_.Prepare(Policy(), registered_.agent().command());
  if (!prepared.ok()) {
    Fail(absl::StrCat("cannot sandbox the agent command: ", prepared.status().message()));
    return;
  }
  auto self = shared_from_this();
  // The live log is made at the first output: a quiet command costs no file.
  if (!registered_.live_log_dir().empty()) {
    prepared->spec.on_output = [self](int, std::string_view piece) {
      if (self->live_ == nullptr && !std::exchange(self->live_opened_, true)) {
        self->live_ =
            LiveLog::Open(self->registered_.live_log_dir(), self->lease_.subtask().id(), self->lease_.attempt());
        if (self->live_ != nullptr) self->live_->Write(absl::StrCat("$ ", self->registered_.agent().command(), "\n"));
      }
      if (self->live_ != nullptr) self->live_->Write(piece);
    };
  }
  auto scope = prepared->scope;
  AlsoOnStart(prepared->spec, [self, scope](int pid) {
    self->pid_ = pid;
    PidLedger(self->registered_.pid_ledger_dir())
        .Record(pid, self->host_id_ + "/agent", scope ? scope->CgroupDirs() : std::vector<std::string>{});
  });
  auto grew = prepared->grew_past_limit;
  absl::Status st = StartProcess(io_, std::move(prepared->spec), [self, scope, grew](absl::StatusOr<ProcessResult> r) {
    if (self->pid_ != 0) PidLedger(self->registered_.pid_ledger_dir()).Forget(self->pid_);
    self->pid_ = 0;
    self->OnCommandDone(std::move(r), grew != nullptr && grew->load());
  });
  if (!st.ok()) {
    Fail(absl::StrCat("cannot start the agent command: ", st.message()));
    return;
  }
  if (activity_) activity_(0, "running the agent command");
}

void CommandAgent::OnCommandDone(absl::StatusOr<ProcessResult> r, bool grew_past_limit) {
  if (!r.ok()) {
    Fail(absl::StrCat("the agent command could not run: ", r.status().message()));
    return;
  }
  log_ = absl::StrCat("$ ", registered_.agent().command(), "\n--- stdout ---\n", r->out, "--- stderr ---\n", r->err,
                      r->output_truncated ? "\n[swarm: output truncated]\n" : "", "\n[swarm: ", r->Describe(), "]\n");
  if (killed_) {
    Fail("cancelled", log_);
    return;
  }
  if (!r->ok()) {
    // A command that failed because its workspace hit the cap (ENOSPC), or was stopped past it (on
    // disk), says so (no walk of the tree here: this is the host's loop thread).
    absl::Status growth = workspace_->CheckFull();
    if (grew_past_limit) growth = workspace_->GrewPastLimits();
    Fail(absl::StrCat("agent command failed (", r->Describe(), ")", growth.ok() ? "" : ": ", growth.message()), log_);
    return;
  }
  auto self = shared_from_this();
  asio::post(pool_, [self] {
    absl::StatusOr<Patch> patch = self->workspace_->ComputePatch();
    asio::post(self->io_, [self, patch = std::move(patch)] {
      if (!patch.ok()) {
        self->Fail(absl::StrCat("the workspace is not a valid patch: ", patch.status().message()), self->log_);
        return;
      }
      v1::AttemptResult result = PatchResult(*patch);
      result.set_summary(ReadAgentSummary(*self->workspace_));
      result.set_log_tail(self->log_);
      self->Complete(std::move(result));
    });
  });
}

void CommandAgent::Kill() {
  killed_ = true;
  if (pid_ > 0) kill(-pid_, SIGKILL);
}

void CommandAgent::Fail(const std::string& error, std::string log) {
  v1::AttemptResult result;
  result.set_outcome(v1::AttemptResult::FAILED);
  result.set_error(ToUtf8(error));  // a file name in it may be any bytes; the field must be UTF-8
  result.set_log_tail(log.empty() ? error + "\n" : log);
  result.set_base_commit(lease_.base_commit());
  Complete(std::move(result));
}

void CommandAgent::Complete(v1::AttemptResult result) {
  live_.reset();
  endpoint_.reset();
  if (!endpoint_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(endpoint_dir_, ec);
    endpoint_dir_.clear();
  }
  result.set_lease_id(lease_.lease_id());
  result.set_fence(lease_.fence());
  result.set_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_)
                             .count());
  // The workspace goes on the pool: removing a tree of files is slow on disk.
  if (workspace_) {
    asio::post(pool_, [ws = std::move(workspace_), dir = dir_, keep = registered_.agent().keep_workspaces()]() mutable {
      ws.reset();
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    });
  }
  if (done_) {
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }
}

}  // namespace swarm
