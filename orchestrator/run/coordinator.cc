#include "orchestrator/run/coordinator.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/failpoint.h"
#include "base/terminal_text.h"
#include "git/integration_repo.h"
#include "models/budget.h"
#include "orchestrator/merge/check_stage.h"
#include "orchestrator/merge/culprits.h"
#include "orchestrator/plan/issue_planner.h"
#include "orchestrator/run/agent_service.h"
#include "orchestrator/run/cancel_requests.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/fleet.h"
#include "orchestrator/run/host_registration.h"
#include "orchestrator/run/path_policy.h"
#include "orchestrator/run/periodic.h"
#include "orchestrator/run/report.h"
#include "orchestrator/run/run_closer.h"
#include "orchestrator/run/run_events.h"
#include "orchestrator/run/run_metrics.h"
#include "orchestrator/run/run_signals.h"
#include "orchestrator/run/run_site.h"
#include "orchestrator/run/scheduler.h"
#include "orchestrator/store/cancel_file.h"
#include "orchestrator/store/store.h"
#include "sandbox/pid_ledger.h"
#include "sandbox/resource_scope.h"

namespace swarm {
namespace fs = std::filesystem;
namespace asio = boost::asio;
using State = Scheduler::State;

Coordinator::Coordinator(PreparedRun run, std::unique_ptr<Sandbox> sandbox, std::ostream& out, std::ostream& err,
                         CoordinatorOptions options)
    : run_(std::move(run)),
      sandbox_(std::move(sandbox)),
      out_(out),
      err_(err),
      options_(options),
      metrics_(run_.model),
      rework_(run_.config.max_rebases, run_.config.max_fixups),
      model_(run_.model, options_.model_caller, run_.config.budget_usd, run_.per_subtask_usd,
             RunModel::Hooks{.post = [this](std::function<void()> task) { asio::post(*io_, std::move(task)); },
                             .record = [this](v1::Event e, const EventBodies& bodies) { Emit(std::move(e), bodies); },
                             .budget_stopped =
                                 [this](const std::string& why) {
                                   recorder_->Say(absl::StrCat("swarm: stopping on the budget: ", why,
                                                               "; no new subtask starts, and what was submitted still "
                                                               "goes through the merge queue"));
                                   MaybeFinish();
                                 }}) {}

bool Coordinator::Post(std::function<void()> task) {
  if (io_ == nullptr) return false;
  asio::post(*io_, std::move(task));
  return true;
}

void Coordinator::RequestCancel(const std::string& why) {
  cancel_requests_.Request(why);
  // During setup the base test is the only thing running; the event loop picks up the rest.
  if (TestGate* gate = killable_gate_.load()) gate->KillRunning();
}

Coordinator::~Coordinator() {
  stages_.Shutdown();
  if (git_pool_) git_pool_->join();
  server_.reset();
}

absl::Status Coordinator::Setup(const std::function<bool()>& stopping) {
  const RunConfig& cfg = run_.config;
  absl::Status opened = OpenRunSite(run_, *sandbox_, out_, err_, site_);
  if (site_.store == nullptr) return opened;
  recorder_ = std::make_unique<RunRecorder>(
      RunRecorder::Options{run_.run_id, site_.layout.log_dir, cfg.json, isatty(STDOUT_FILENO) && &out_ == &std::cout,
                           [this](const v1::Event& e) {
                             metrics_.Observe(e);
                             UpdateMetrics();
                             if (options_.on_event) options_.on_event(e);
                           },
                           options_.on_live, [this] { return AgentRows(); }, cfg.budget_usd},
      *site_.store, out_, err_, [this] { return Counts(); });
  if (!opened.ok()) return opened;
  killable_gate_ = site_.gate.get();
  std::vector<CallRecord> planner_calls;
  bool started = run_.resume;
  auto record_start = [&] {
    Emit(RunStartedEvent(run_, site_.layout, site_.limits_mode, sandbox_->Name()));
    for (const CallRecord& record : planner_calls) EmitModelCall(record);
    started = true;
  };
  if (!run_.resume) {
    // A task in words is planned now, by the model, before anything else happens.
    absl::Status planned = absl::OkStatus();
    if (run_.plan.subtasks.empty() && !cfg.task.empty()) planned = PlanFromTask(&planner_calls);
    if (!planned.ok() || cfg.backlog.plan_issues()) record_start();
    if (!planned.ok()) return planned;
  }
  // A backlog's issues are planned once the run is recorded, each recorded as its planning ends: a
  // run killed meanwhile keeps what was planned and spent, and its resume plans the others.
  if (cfg.backlog.plan_issues()) {
    if (absl::Status st = PlanIssuesWithModel(stopping); !st.ok()) return st;
  }
  scheduler_ = std::make_unique<Scheduler>(run_.plan, cfg.max_attempts, cfg.backlog.max_agents_per_issue());
  io_ = std::make_unique<asio::io_context>();
  git_pool_ = std::make_unique<asio::thread_pool>(2);
  MakePipeline();
  MakeFleet();
  if (run_.resume) {
    if (absl::Status st = RestoreRun(run_, site_, *pipeline_, fleet_->leases(), Recorder(), out_, baseline_);
        !st.ok()) {
      return st;
    }
  }
  // Recorded once the run's parts stand (unless issues were planned since): whoever waits for it
  // finds the run ready for its hosts.
  if (!started) record_start();
  absl::Status model = StartModel();
  if (model.ok() && !planning_spent_budget_.empty()) model_.StopOnBudget(planning_spent_budget_);
  return model;
}

void Coordinator::EmitModelCall(const CallRecord& record) {
  v1::Event e;
  *e.mutable_model_called()->mutable_call() = record.call;
  Emit(std::move(e), {.model_request = record.request_body, .model_response = record.response_body});
}

void Coordinator::MakePipeline() {
  const PathPolicy policy(run_.config.allow_paths);
  const PatchLimits limits{static_cast<std::uint64_t>(run_.config.max_patch_expanded_mb) << 20,
                           static_cast<std::uint64_t>(run_.config.max_patch_files)};
  LandingPipeline::Hooks hooks{
      .emit = [this](v1::Event e, const EventBodies& bodies) { Emit(std::move(e), bodies); },
      .write_log = [this](const std::string& name,
                          const std::string& content) { return recorder_->Log(name, content); },
      .say = [this](const std::string& line) { recorder_->Say(line); },
      .can_fix_up = [this] { return model_.has_model() && !model_.budget_stopped(); },
      .patch_diff = [this](const std::string& id,
                           int attempt) { return site_.store->PatchDiff(run_.run_id, id, attempt); },
      .attempt_failed = [this](const Lease& lease, const std::string& reason) { AttemptFailed(lease, reason, ""); },
      .progressed =
          [this] {
            fleet_->Dispatch();
            MaybeFinish();
          },
      .blame = [this](const MergeRequest& request,
                      const std::string& log) { return AttributeFailure(*site_.repo, request, log).summary; },
      .post = [this](std::function<void()> task) { asio::post(*io_, std::move(task)); },
      .post_work = [this](std::function<void()> work) { asio::post(*git_pool_, std::move(work)); },
      .commit_patch =
          [this, policy, limits](const v1::AttemptResult& r, const std::string& message) {
            return CommitSubmittedPatch(*site_.repo, r.base_commit(), r.patch(), r.tree(), message, policy, limits);
          }};
  pipeline_ = std::make_unique<LandingPipeline>(
      run_.plan, *scheduler_, rework_,
      LandingPipeline::Settings{
          .test_command = site_.gate->command(),
          .test_format = site_.gate->format(),
          .json = run_.config.json,
          .require_test = run_.config.backlog.require_test(),
          .test_globs = {run_.config.backlog.test_globs().begin(), run_.config.backlog.test_globs().end()}},
      std::move(hooks));
  pipeline_->StartAt("", run_.base, {});
  for (const std::string& lane : LanesOf(run_.plan)) pipeline_->StartAt(lane, run_.base, {});
}

void Coordinator::MakeFleet() {
  Fleet::Hooks hooks{
      .emit = [this](v1::Event e) { Emit(std::move(e)); },
      .ending = [this]() -> std::optional<std::string> {
        if (cancel_exit_ != 0) return "cancelled: " + cancel_reason_;
        if (shutting_down_) return "stopped: the run finished";
        return std::nullopt;
      },
      .may_lease = [this] { return !model_.budget_stopped(); },
      .head = [this](const std::string& lane) { return pipeline_->head(lane); },
      .registration =
          [this] {
            return Registration(run_, site_.layout, site_.repo->git().git_dir(), sandbox_->Name() != "none",
                                model_.model());
          },
      .lease_ended = [this](const std::string& lease_id) { model_.EndLease(lease_id); },
      .attempt_failed = [this](const Lease& lease, const std::string& reason) { AttemptFailed(lease, reason, ""); },
      .host_lost =
          [this](const std::string& host_id) {
            if (!shutting_down_) hosts_->Stop(host_id);
            PidLedger(site_.layout.ledger_dir).KillAll(host_id + "/");  // its agent commands, if they outlive it
          },
      .say = [this](const std::string& line) { recorder_->Say(line); },
      .changed = [this] { MaybeFinish(); }};
  fleet_ = std::make_unique<Fleet>(options_.clock != nullptr ? *options_.clock : SystemClock::Get(),
                                   std::chrono::seconds(run_.config.lease_timeout_s), *scheduler_, rework_,
                                   std::move(hooks));
}

absl::Status Coordinator::PlanFromTask(std::vector<CallRecord>* calls) {
  if (absl::Status st = StartModel(); !st.ok()) return st;
  err_ << "swarm: planning the task with " << model_.model()->ref << "\n";
  PlannerInput input{run_.config.task, run_.config.test_command, RepositoryMap(*run_.user, run_.base)};
  absl::StatusOr<PlannerResult> result = model_.Plan(input, calls);
  if (!result.ok()) return BudgetEnds(result.status());
  run_.plan = std::move(result->plan);
  err_ << absl::StrFormat("swarm: the plan has %d subtasks (planning cost $%.4f)\n", run_.plan.subtasks.size(),
                          result->cost_usd);
  return absl::OkStatus();
}

absl::Status Coordinator::PlanIssuesWithModel(const std::function<bool()>& stopping) {
  const v1::Backlog& backlog = run_.config.backlog;
  std::vector<int> which;  // the issues not planned yet
  for (int i = 0; i < backlog.issues_size(); ++i) {
    if (!run_.planned_issues.count(backlog.issues(i).id())) which.push_back(i);
  }
  if (which.empty()) return absl::OkStatus();
  if (absl::Status st = StartModel(); !st.ok()) return st;
  recorder_->Say(absl::StrCat("swarm: planning ", which.size(), " issues with ", model_.model()->ref));
  // As many at once as the provider takes (its rate limiter holds the rest back), up to 64 threads.
  const std::optional<ModelGateway::LimiterState> limiter = model_.limiter();
  const int concurrency = std::min(64, limiter ? limiter->configured : 8);
  std::set<std::string> taken;  // subtask ids in use: a planned issue's may not clash with them
  for (const v1::Subtask& s : run_.plan.subtasks) taken.insert(s.id());
  constexpr int kLinesShown = 20;  // of issues planned into several subtasks, or failed
  int lines = 0, planned = 0, several = 0, failed = 0;
  double cost = 0;
  auto say = [&](const std::string& line) {
    if (++lines <= kLinesShown) recorder_->Say("swarm: " + TerminalSafe(line));
  };
  auto record = [&](v1::IssuePlanned planning) {
    const std::string issue = planning.lane();
    v1::Event e;
    *e.mutable_issue_planned() = std::move(planning);
    Emit(std::move(e));
    run_.planned_issues.insert(issue);
    Failpoint("issue_planned", issue);
  };
  const PlanningStop stop = PlanIssues(
      backlog, which, run_.config.test_command, RepositoryMap(*run_.user, run_.base), concurrency,
      [this](const PlannerInput& input, std::vector<CallRecord>* made) { return model_.Plan(input, made); }, stopping,
      [&](IssuePlan result) {
        const v1::Issue& issue = backlog.issues(result.index);
        for (const CallRecord& call : result.calls) {
          cost += call.call.cost_usd();
          EmitModelCall(call);
        }
        absl::StatusOr<Plan> lane = std::move(result.planned);
        if (lane.ok()) {
          taken.erase(issue.id());  // its lone subtask gives way
          const Plan model_plan = std::move(*lane);
          lane = IssueLane(issue, model_plan, backlog, taken);
          taken.insert(issue.id());
        }
        if (lane.ok()) {
          if (absl::Status applied = ApplyIssueLane(run_.plan, issue.id(), *lane); !applied.ok()) lane = applied;
        }
        if (!lane.ok()) {
          ++failed;
          say(absl::StrCat("issue ", issue.id(), ": planning failed (", lane.status().message(),
                           "): it is one subtask"));
          v1::IssuePlanned planning;
          planning.set_lane(issue.id());
          planning.set_note(absl::StrCat("its planning failed: ", lane.status().message()));
          record(std::move(planning));
          return;
        }
        ++planned;
        for (const v1::Subtask& s : lane->subtasks) taken.insert(s.id());
        if (lane->subtasks.size() > 1) {
          ++several;
          say(absl::StrCat("issue ", issue.id(), ": planned into ", lane->subtasks.size(), " subtasks"));
        }
        record(IssuePlannedEvent(issue.id(), *lane));
      });
  if (lines > kLinesShown) recorder_->Say(absl::StrCat("swarm: ... and ", lines - kLinesShown, " more such issues"));
  int left = 0;
  if (stop.final) {
    // More calls cannot help: the issues left are one subtask each, for this session and any resume.
    for (int i : which) {
      if (run_.planned_issues.count(backlog.issues(i).id())) continue;
      ++left;
      v1::IssuePlanned planning;
      planning.set_lane(backlog.issues(i).id());
      planning.set_note("not planned: " + stop.why);
      record(std::move(planning));
    }
    if (stop.run_budget) planning_spent_budget_ = stop.why;
  }
  std::string summary = absl::StrFormat(
      "swarm: planned %d of %d issues (%d into several subtasks; %d one subtask as their planning "
      "failed) for $%.4f",
      planned, which.size(), several, failed, cost);
  if (!stop.why.empty()) {
    absl::StrAppend(&summary, "; stopped: ", TerminalSafe(stop.why),
                    left > 0 ? absl::StrCat(" (", left, " issues left are one subtask each)") : "");
  }
  recorder_->Say(summary);
  if (absl::Status st = ValidatePlan(run_.plan, "the issues' plans"); !st.ok()) {
    return absl::InternalError(st.message());  // each lane was valid, and ids never clash
  }
  std::map<std::string, std::string> lane_of;  // the planned subtasks spend their issue's budget
  for (const v1::Subtask& s : run_.plan.subtasks) lane_of[s.id()] = s.lane();
  model_.JoinGroups(lane_of);
  return absl::OkStatus();
}

absl::Status Coordinator::StartModel() {
  if (!model_.gateway_due()) return model_.Start({});
  absl::StatusOr<std::map<std::string, ModelSpend>> spent = site_.store->SpendBySubtask(run_.run_id);
  if (!spent.ok()) return spent.status();
  std::map<std::string, std::string> lane_of;  // a backlog's issues each have a budget
  for (const auto& s : run_.plan.subtasks) {
    if (s.lane().empty()) continue;
    lane_of[s.id()] = s.lane();
    lane_of[IssuePlannerId(s.lane())] = s.lane();  // planning an issue spends its budget
  }
  return model_.Start(*spent, run_.config.backlog.budget_per_issue_usd(), std::move(lane_of));
}

void Coordinator::OnComplete(const v1::CompleteRequest& request, CompleteDone done) {
  const Lease* lease = fleet_->leases().Find(request.lease_id(), request.fence());
  if (lease == nullptr) {
    done(absl::FailedPreconditionError("no such lease: it ended or was given to another agent"));
    return;
  }
  model_.Complete(request.lease_id(), lease->subtask_id, lease->attempt, request.request(), std::move(done));
}

void Coordinator::EndLease(const std::string& lease_id) {
  fleet_->leases().End(lease_id);
  model_.EndLease(lease_id);
}

RecordEvent Coordinator::Recorder() {
  return [this](v1::Event e) { Emit(std::move(e)); };
}

int Coordinator::Run() {
  WarnAtStart(run_, sandbox_->Name(), err_);
  cancel_requests_.StopAfter(run_.config.max_run_time);
  SetupSignals setup_signals(options_.handle_signals, [this] {
    if (TestGate* gate = killable_gate_.load()) gate->KillRunning();
  });
  absl::Status setup =
      Setup([&] { return setup_signals.received() > 0 || cancel_requests_.Pending(site_.layout.run_dir); });
  // A resumed run's base was tested when it started, unless the coordinator died during that test;
  // with per-test results, the head's results are the baseline, so they are read again (or cached).
  bool check = !baseline_.base_passed || site_.gate == nullptr || site_.gate->format() != TestFormat::kExit;
  absl::Status base =
      setup.ok() && setup_signals.received() == 0 && !cancel_requests_.Pending(site_.layout.run_dir) && check
          ? CheckRunHead(run_, site_, *pipeline_, Recorder(), out_, baseline_)
          : absl::OkStatus();
  setup_signals.Stop();
  if (std::optional<EarlyEnd> end = EndBeforeAgents(setup, base, setup_signals.received(),
                                                    cancel_requests_.Pending(site_.layout.run_dir), run_.base)) {
    err_ << "swarm: " << end->why.message() << "\n";
    if (site_.store != nullptr) {
      Emit(std::move(end->finished));
      WriteEarlyReport(*site_.store, run_.run_id, site_.layout.run_dir, *end);
    }
    return end->exit_code;
  }
  // A backlog's lanes each get a ref of their own at the base (a resumed run's keep what landed).
  for (const std::string& lane : LanesOf(run_.plan)) {
    if (absl::Status st = site_.repo->CreateRefIfAbsent(LaneRef(lane), run_.base); !st.ok()) {
      err_ << "swarm: cannot make the ref of lane " << lane << ": " << st.message() << "\n";
      return kExitInternal;
    }
  }
  // What the merge stages are testing now is a live update (the dashboard's queue, --json).
  stages_ = MakeStages(
      options_.checker, options_.merge_queue, site_, run_, baseline_.head_outcome, pipeline_->head(),
      [this](const std::string& stage, const std::string& lane, const std::vector<std::string>& ids, bool done) {
        Post([this, e = QueueTestingEvent(stage, lane, ids, done)] { recorder_->Live(e); });
      });
  pipeline_->UseStages(*stages_.check(),
                       [this](const std::string& lane) -> MergeQueue& { return stages_.Merge(lane); });

  if (options_.serve_agent_api) {
    absl::StatusOr<std::unique_ptr<AgentServer>> server = AgentServer::Start(
        "unix:" + site_.layout.socket_path, *this,
        [this](std::function<void()> task) { asio::post(*io_, std::move(task)); }, fleet_->leases().liveness());
    if (!server.ok()) {
      err_ << "swarm: " << server.status().message() << "\n";
      return kExitInternal;
    }
    server_ = std::move(*server);
  }

  std::optional<LoopSignals> signals;
  if (options_.handle_signals) signals.emplace(*io_, [this](int sig) { OnSignal(sig); });

  // Leases are checked a few times per heartbeat interval, cancel requests five times a second.
  Periodic lease_check(*io_, std::chrono::milliseconds(run_.config.heartbeat_interval_s * 250), [this] {
    if (shutting_down_) return false;
    fleet_->ExpireLeases();
    return true;
  });
  metrics_ticking_ = true;
  Periodic cancel_check(*io_, std::chrono::milliseconds(200), [this] {
    if (cancel_exit_ != 0) {
      metrics_ticking_ = false;
      return false;
    }
    if (std::optional<std::string> why = cancel_requests_.Pending(site_.layout.run_dir)) {
      Cancel(kExitCancelled, *why);
      return false;
    }
    // Idle: something landed, agents are working, no patch or merge is in flight.
    if (pipeline_->jobs_in_flight() == 0 && !fleet_->leases().empty() && pipeline_->head() != run_.base)
      Failpoint("idle");
    recorder_->Progress();        // the view's clocks move without events
    UpdateMetrics(/*now=*/true);  // and the model's calls in flight, and what the last events changed
    return true;
  });

  if (options_.host_launcher == nullptr) {
    own_launcher_ = std::make_unique<ProcessHostLauncher>(*io_, run_.agent_binary, site_.layout.socket_path,
                                                          site_.layout.ledger_dir);
  }
  hosts_ = std::make_unique<HostSupervisor>(
      options_.host_launcher != nullptr ? *options_.host_launcher : *own_launcher_,
      [this](const std::string& host_id, const HostLauncher::Exit& exit) { OnHostExited(host_id, exit); });
  if (run_.resume) {
    pipeline_->SubmitMergeable();  // patches accepted before the crash go to the merge stage as they are
    pipeline_->SkipBlocked();
  }
  if (!scheduler_->AllDone()) StartHosts();
  recorder_->BeginView();
  MaybeFinish();
  io_->run();
  metrics_ticking_ = false;  // the tick is gone: the end's events update the gauges themselves
  return Finish();  // signals stay caught (and ignored) until Run returns
}

void Coordinator::OnSignal(int sig) {
  if (cancel_exit_ != 0) {
    err_ << "\nswarm: aborted; what landed is kept in " << site_.layout.run_dir << "/integration.git\n";
    std::error_code ec;
    // /dev/shm is RAM: do not leave it behind (the run's own tmpfs goes with its mount namespace).
    if (site_.workspace_fs == nullptr) fs::remove_all(site_.layout.workspace_root, ec);
    fs::remove_all(site_.layout.runtime_dir, ec);
    _exit(kExitInterrupted);  // hosts die with us (parent-death signal), their sandboxes with them
  }
  if (sig == SIGINT) recorder_->Say("swarm: interrupted; Ctrl-C again to abort");
  Cancel(sig == SIGINT ? kExitInterrupted : kExitCancelled, sig == SIGINT ? "interrupted" : "terminated");
}

void Coordinator::StartHosts() {
  if (absl::Status st = hosts_->StartAll(run_.config.agents, run_.config.agent_hosts); !st.ok()) {
    recorder_->Say(absl::StrCat("swarm: cannot start agent host: ", st.message()));
    Cancel(kExitEnvironment, "no agent host could start");
  }
}

void Coordinator::OnHostExited(const std::string& host_id, const HostLauncher::Exit& exit) {
  std::string log = recorder_->Log(host_id + ".log", exit.output);
  if (!shutting_down_)
    recorder_->Say(absl::StrCat("swarm: agent host ", host_id, " exited (", exit.how, "); log: ", log));
  MaybeFinish();
}

void Coordinator::OnHostMessage(const std::shared_ptr<HostChannel>& host, const v1::HostMessage& message) {
  switch (message.kind_case()) {
    case v1::HostMessage::kRegister:
      fleet_->Register(host, message.register_());
      break;
    case v1::HostMessage::kResult:
      OnResult(host, message.result());
      break;
    case v1::HostMessage::kHeartbeat:
      fleet_->Heartbeat(host, message.heartbeat());
      break;
    case v1::HostMessage::kWorkspaces:
      fleet_->NoteWorkspaces(host, message.workspaces());
      break;
    case v1::HostMessage::kReady:
      fleet_->Ready(host, message.ready().attempts());
      break;
    case v1::HostMessage::kProgress:
      if (const Lease* lease = fleet_->leases().NoteProgress(host->id(), message.progress())) {
        recorder_->Live(AgentActivityEvent(*lease, fleet_->leases().host_id(lease->host)));
      }
      break;
    case v1::HostMessage::KIND_NOT_SET:
      break;
  }
}

void Coordinator::OnResult(const std::shared_ptr<HostChannel>& channel, const v1::AttemptResult& result) {
  std::optional<Lease> taken = fleet_->TakeForResult(channel, result);
  if (!taken) return;  // refused: the lease is not current
  const Lease lease = std::move(*taken);

  std::string log = recorder_->Log(absl::StrCat(lease.subtask_id, ".", lease.attempt, ".agent.log"), result.log_tail());
  Emit(AttemptFinishedEvent(lease.subtask_id, lease.attempt, result, log));

  if (result.outcome() == v1::AttemptResult::NO_CHANGE && run_.config.backlog.require_test() &&
      scheduler_->spec(lease.subtask_id).test_first() && scheduler_->has_dependents(lease.subtask_id)) {
    // It was to write the test that reproduces its issue: the rest of the issue waits for it in vain.
    // (An issue of one subtask that changes nothing is an issue with nothing to change.)
    pipeline_->FinishSubtask(
        lease.subtask_id, v1::REJECTED_CHECK,
        absl::StrCat(kNoFailingTest, ": the agent changed nothing, so no test reproduces the issue"), log);
    pipeline_->SkipBlocked();
  } else if (result.outcome() == v1::AttemptResult::NO_CHANGE) {
    scheduler_->AttemptSucceeded(lease.subtask_id, /*no_change=*/true);
    pipeline_->FinishSubtask(lease.subtask_id, v1::NO_CHANGE, "the agent changed nothing", log);
    pipeline_->SubmitMergeable();
  } else if (result.outcome() == v1::AttemptResult::PATCH &&
             result.patch().size() > (static_cast<std::size_t>(run_.config.max_patch_mb) << 20)) {
    AttemptFailed(lease,
                  absl::StrCat("invalid patch: ", result.patch().size() >> 20, " MiB exceeds --max-patch-mb ",
                               run_.config.max_patch_mb, " (large or binary files?)"),
                  log);
  } else if (result.outcome() == v1::AttemptResult::PATCH) {
    pipeline_->Accept(lease, result);
  } else {
    AttemptFailed(lease, result.error().empty() ? "the agent failed" : result.error(), log);
  }
  fleet_->Dispatch();
  MaybeFinish();
}

void Coordinator::AttemptFailed(const Lease& lease, const std::string& reason, const std::string& log_path) {
  // A backlog issue whose budget is spent gets no more attempts: each would be refused at its first
  // model call.
  const bool issue_budget_spent =
      !scheduler_->spec(lease.subtask_id).lane().empty() &&
      absl::StrContains(reason, absl::StrCat("issue ", scheduler_->spec(lease.subtask_id).lane(), kGroupBudgetWords));
  if (!issue_budget_spent && scheduler_->AttemptFailed(lease.subtask_id)) {
    if (!run_.config.json) {
      recorder_->Say(absl::StrCat("swarm: ", lease.subtask_id, " attempt ", lease.attempt, " failed (",
                                  TerminalSafe(reason), "); retrying"));
    }
    fleet_->Dispatch();
    return;
  }
  pipeline_->FinishSubtask(lease.subtask_id, v1::FAILED_AGENT, reason, log_path);
  pipeline_->SkipBlocked();
  pipeline_->SubmitMergeable();
}

void Coordinator::OnHostGone(const std::shared_ptr<HostChannel>& channel) { fleet_->HostGone(channel); }

void Coordinator::MaybeFinish() {
  if (scheduler_ != nullptr) {
    for (const std::string& lane : scheduler_->TakeFinishedLanes()) stages_.Retire(lane);
  }
  // Hosts start once setup is done; a store that fails before that finishes the run here.
  const int hosts_running = hosts_ != nullptr ? hosts_->running() : 0;
  if (!shutting_down_ && cancel_exit_ == 0 && hosts_ != nullptr && hosts_running == 0 && !scheduler_->AllDone()) {
    Cancel(kExitInternal, "no agent host is left to run the remaining subtasks");
  }
  bool work_done = scheduler_->AllDone() || cancel_exit_ != 0 ||
                   (model_.budget_stopped() && (fleet_ == nullptr || fleet_->leases().empty()));
  const int jobs = pipeline_ != nullptr ? pipeline_->jobs_in_flight() : 0;
  if (!shutting_down_ && work_done && jobs == 0) BeginShutdown();
  if (shutting_down_ && jobs == 0 && hosts_running == 0 && io_ != nullptr) io_->stop();
}

void Coordinator::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (fleet_ != nullptr) fleet_->SayGoodbye(cancel_exit_ != 0 ? cancel_reason_ : "run finished");
  // Hosts that do not leave in time are stopped: they are in our process group's care.
  auto timer = std::make_shared<asio::steady_timer>(*io_, std::chrono::seconds(20));
  timer->async_wait([this, timer](boost::system::error_code ec) {
    if (ec || hosts_ == nullptr || hosts_->running() == 0) return;
    recorder_->Say("swarm: agent hosts did not exit in time; killing them");
    hosts_->StopAll();  // reaped by their exit callbacks
  });
  MaybeFinish();
}

void Coordinator::Cancel(int exit_code, const std::string& why) {
  if (cancel_exit_ != 0) return;
  cancel_exit_ = exit_code;
  cancel_reason_ = why;
  recorder_->Say("swarm: cancelling: " + why);
  recorder_->Quiet();
  if (pipeline_) pipeline_->Cancel(why);
  stages_.Cancel();
  if (site_.gate != nullptr) site_.gate->KillRunning();  // checks too, not only the queues' tests
  BeginShutdown();
}

void Coordinator::Emit(v1::Event event, const EventBodies& bodies) {
  Delaypoint("record");
  if (absl::Status st = recorder_->Emit(std::move(event), bodies); !st.ok()) {
    // The log is the source of truth: without it, going on would lose work.
    recorder_->Say(absl::StrCat("swarm: cannot record state: ", st.message()));
    if (io_ != nullptr) Cancel(kExitInternal, "the state database failed");
  }
}

std::vector<AgentRow> Coordinator::AgentRows() const {
  std::vector<AgentRow> rows;
  if (fleet_ == nullptr) return rows;
  rows.reserve(fleet_->leases().leases().size());
  for (const auto& [id, lease] : fleet_->leases().leases()) {
    rows.push_back(AgentRow{.subtask_id = lease.subtask_id,
                            .attempt = lease.attempt,
                            .granted_unix_ms = lease.granted_unix_ms,
                            .step = lease.step,
                            .action = lease.action,
                            .action_unix_ms = lease.action_unix_ms});
  }
  return rows;
}

void Coordinator::UpdateMetrics(bool now) {
  // While the cancel check ticks (five times a second, bringing the gauges up to date), at most ten
  // times a second after events; a scrape is seldom more often. Without the tick (setup, the head's
  // tests, a cancel's drain), after every event.
  const auto t = std::chrono::steady_clock::now();
  if (!now && metrics_ticking_ && t - metrics_updated_ < std::chrono::milliseconds(100)) return;
  metrics_updated_ = t;
  const std::optional<ModelGateway::LimiterState> limiter = model_.limiter();
  metrics_.Update(MetricsNow(scheduler_.get(), static_cast<int>(run_.plan.subtasks.size()),
                             fleet_ != nullptr ? &fleet_->leases() : nullptr, limiter ? limiter->in_flight : 0,
                             limiter ? limiter->limit : 0, run_.config.budget_usd));
}

ProgressCounts Coordinator::Counts() const {
  const std::optional<ModelGateway::LimiterState> limiter = model_.limiter();
  return CountProgress(static_cast<int>(run_.plan.subtasks.size()), scheduler_.get(),
                       fleet_ != nullptr ? static_cast<int>(fleet_->leases().leases().size()) : 0,
                       limiter ? limiter->limit : 0, limiter ? limiter->in_flight : 0);
}

int Coordinator::Finish() {
  recorder_->EndProgress();
  model_.Stop();                         // before the server: its shutdown waits for every call to be answered
  if (server_) server_->AbortPending();  // calls that never reached the executor
  server_.reset();
  stages_.Shutdown();
  git_pool_->join();
  ResourceScope::RemoveAbandoned();  // of hosts killed during the run; every host has exited by now
  // Whatever has no recorded outcome by now was cut short by a cancel or the budget.
  const std::string cut_short = cancel_exit_ == 0 && model_.budget_stopped()
                                    ? "stopped: the budget is spent: " + model_.budget_reason()
                                    : "cancelled: " + cancel_reason_;
  for (const auto& [lease_id, lease] : fleet_->leases().leases())
    Emit(AttemptCutShortEvent(lease.subtask_id, lease.attempt, cut_short));
  for (const auto& [lease_id, lease] : std::map<std::string, Lease>(fleet_->leases().leases())) EndLease(lease_id);
  std::error_code ec;
  fs::remove(CancelFilePath(site_.layout.run_dir), ec);  // answered
  for (const auto& id : scheduler_->order()) {
    if (!pipeline_->finished(id)) pipeline_->FinishSubtask(id, v1::CANCELLED, cut_short, "");
  }
  const RunEnding ending{.cancel_exit = cancel_exit_,
                         .budget_stopped = model_.budget_stopped(),
                         .total = static_cast<int>(run_.plan.subtasks.size()),
                         .landed = scheduler_->Count(State::kLanded),
                         .failed = scheduler_->Count(State::kFailed),
                         .skipped = scheduler_->Count(State::kSkipped),
                         .no_change = scheduler_->Count(State::kNoChange)};
  ClosedRun closed =
      CloseRun(ending, *site_.repo, *run_.user, ResultBranch(run_.config, run_.run_id), run_.base, site_.layout.run_dir,
               /*move_forward=*/run_.resume, ResolvedLanes(*scheduler_, run_.config.backlog));
  const RunResult& result = closed.result;
  if (!result.publish_error.empty()) {
    err_ << "swarm: cannot create the result branch: " << result.publish_error << "; what landed is in "
         << site_.repo->git().git_dir() << " (" << kIntegrationRef << ")\n";
  }
  if (!result.patch_error.empty()) err_ << "swarm: warning: " << result.patch_error << "\n";

  // Before the run is recorded finished: a coordinator killed after that is never resumed, and would
  // leave its workspaces in RAM. Every host, check and merge has ended by now.
  site_.Clear();
  const int exit_code = closed.exit_code;
  Emit(std::move(closed.finished));

  ReportContext ctx{.run_id = run_.run_id,
                    .run_dir = site_.layout.run_dir,
                    .patch_path = result.patch_path,
                    .result_branch = result.branch,
                    .exit_code = exit_code,
                    .sandbox = sandbox_->Name(),
                    .limits = site_.limits_mode,
                    .workspaces = site_.layout.workspaces_on_tmpfs ? "tmpfs" : "disk",
                    .workspace_kind = fleet_->workspace_kind(),
                    .warnings = run_.warnings,
                    .test_format = TestFormatName(site_.gate->format()),
                    .failing_at_base = baseline_.base_failing,
                    .failing_at_end = pipeline_->head_failing(),
                    .flaky = pipeline_->flaky_counts(),
                    .lanes = run_.config.backlog.issues_size() > 0};
  const ModelGateway::LimiterState& limiter = model_.limiter_at_end();
  ctx.model_concurrency = limiter.configured;
  ctx.model_concurrency_end = limiter.limit;
  ctx.model_peak_in_flight = limiter.peak_in_flight;
  ReportRun(*site_.store, std::move(ctx), run_.config.json ? err_ : out_, err_);
  return exit_code;
}

}  // namespace swarm
