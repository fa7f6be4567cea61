// One run, from a prepared plan to a tested branch. The coordinator owns the run's state on one
// executor (an io_context on the thread that calls Run): the store, the scheduler, the leases, the
// agent hosts it started and the gRPC Agent API they connect to. Git and test work runs on worker
// threads and posts its results back.
#ifndef SWARM_ORCHESTRATOR_RUN_COORDINATOR_H_
#define SWARM_ORCHESTRATOR_RUN_COORDINATOR_H_

#include <atomic>
#include <chrono>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/model_gateway.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/agent_handler.h"
#include "orchestrator/run/cancel_requests.h"
#include "orchestrator/run/fleet.h"
#include "orchestrator/run/host_supervisor.h"
#include "orchestrator/run/landing_pipeline.h"
#include "orchestrator/run/lease_table.h"
#include "orchestrator/run/rework_policy.h"
#include "orchestrator/run/run_closer.h"
#include "orchestrator/run/run_layout.h"
#include "orchestrator/run/run_metrics.h"
#include "orchestrator/run/run_model.h"
#include "orchestrator/run/run_recorder.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/run/run_site.h"
#include "orchestrator/run/run_stages.h"
#include "orchestrator/run/run_start.h"
#include "orchestrator/store/run_lock.h"
#include "orchestrator/store/store.h"
#include "sandbox/sandbox.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace swarm {

class AgentServer;
class CheckStage;
class PatchChecker;
struct CheckResult;
class IntegrationRepo;
class Scheduler;
class Store;
class TestGate;

struct CoordinatorOptions {
  // SIGINT and SIGTERM cancel the run. Off when a server hosts several runs in one process.
  bool handle_signals = true;
  // Seams for the coordinator's tests; null (or true) means the real thing. What is given must
  // outlive the coordinator.
  HostLauncher* host_launcher = nullptr;  // null: swarm-agent processes (ProcessHostLauncher)
  PatchChecker* checker = nullptr;        // null: CheckStage
  MergeQueue* merge_queue = nullptr;      // null: SpeculativeMergeQueue
  // null: the model gateway, when the run has a model. An injected caller must not call back after
  // Run() returns (the coordinator stops passing calls to it, but cannot end them).
  ModelCaller* model_caller = nullptr;
  const Clock* clock = nullptr;           // null: the steady clock
  bool serve_agent_api = true;            // false: no socket; hosts are driven through AgentHandler
  // Called on the executor with every event, after the store committed it.
  std::function<void(const v1::Event&)> on_event = nullptr;
  // Called on the executor with every live update (an agent's activity): never stored.
  std::function<void(const v1::Event&)> on_live = nullptr;
};

class Coordinator final : public AgentHandler {
 public:
  // `out` receives progress (or JSON events), `err` warnings and errors. Both must outlive Run().
  Coordinator(PreparedRun run, std::unique_ptr<Sandbox> sandbox, std::ostream& out, std::ostream& err,
              CoordinatorOptions options = {});
  ~Coordinator() override;
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Runs to the end and returns the exit status (exit_codes.h). Call once.
  int Run();

  // Thread-safe, any time: stops the run as `swarm cancel` does. Agents are told to stop, what
  // landed stays, and Run() returns kExitCancelled.
  void RequestCancel(const std::string& why);

  // Thread-safe once the run has started (its RunStarted event was emitted): runs `task` on the
  // executor, where AgentHandler calls are made. False before that. For a program that embeds the
  // coordinator and drives hosts of its own, and for tests.
  bool Post(std::function<void()> task);

  // AgentHandler, on the executor.
  void OnHostMessage(const std::shared_ptr<HostChannel>& host, const v1::HostMessage& message) override;
  void OnHostGone(const std::shared_ptr<HostChannel>& host) override;
  void OnComplete(const v1::CompleteRequest& request, CompleteDone done) override;

 private:
  // `stopping`: a signal or a cancel request came (the issues' planning starts no further issue).
  absl::Status Setup(const std::function<bool()>& stopping);
  // The run's model, when it has one; spending of earlier sessions counts.
  absl::Status StartModel();
  // Plans run_.config.task with the model (planner.h); the calls made are returned for the log.
  absl::Status PlanFromTask(std::vector<CallRecord>* calls);
  // A backlog's issues not planned yet, each planned by the model into its lane's subtasks
  // (issue_planner.h) and recorded as its planning ends.
  absl::Status PlanIssuesWithModel(const std::function<bool()>& stopping);
  void EmitModelCall(const CallRecord& record);
  // At the end: a lease still held is forgotten, and its agent's model calls are not retried.
  void EndLease(const std::string& lease_id);
  // The landing pipeline, wired to this run: its events, logs, git work and executor.
  void MakePipeline();
  // The fleet of hosts, wired to this run: its events, the head, registration, failures.
  void MakeFleet();
  // Emit, for the parts that record events without bodies.
  RecordEvent Recorder();
  // SIGINT or SIGTERM while the event loop runs: the run is cancelled; a second one aborts it.
  void OnSignal(int sig);
  void StartHosts();
  void OnHostExited(const std::string& host_id, const HostLauncher::Exit& exit);
  void OnResult(const std::shared_ptr<HostChannel>& host, const v1::AttemptResult& result);
  void AttemptFailed(const Lease& lease, const std::string& reason, const std::string& log_path);
  void MaybeFinish();
  void BeginShutdown();
  void Cancel(int exit_code, const std::string& why);
  void Emit(v1::Event event, const EventBodies& bodies = {});
  ProgressCounts Counts() const;
  void UpdateMetrics(bool now = false);     // the run's gauges (run_metrics.h); `now`: not throttled
  std::vector<AgentRow> AgentRows() const;  // the busy agents, for the terminal view
  int Finish();

  // Set at construction.
  PreparedRun run_;
  std::unique_ptr<Sandbox> sandbox_;
  std::ostream& out_;
  std::ostream& err_;
  const CoordinatorOptions options_;
  CancelRequests cancel_requests_;  // RequestCancel, and `swarm cancel`'s file
  RunMetrics metrics_;              // the process's Prometheus metrics: what this run adds; on the executor

  // Made by Setup().
  RunSite site_;  // directories, lock, store, integration repository, test gate
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::thread_pool> git_pool_;
  // Constructed with the coordinator; declared here so that the parts below, which hold them, go
  // first, and the gateway goes before the executor its calls post to.
  ReworkPolicy rework_;  // rebases and fix-ups; owned by the executor
  RunModel model_;       // the gateway, agents' calls through it, the budget
  std::string planning_spent_budget_;      // the run's budget ran out while the issues were planned
  std::unique_ptr<RunRecorder> recorder_;  // with site_.store
  std::atomic<TestGate*> killable_gate_{nullptr};  // site_.gate, for the setup signal watcher thread
  RunStages stages_;  // the check and the queue, once the head is tested
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<LandingPipeline> pipeline_;  // with scheduler_
  std::unique_ptr<Fleet> fleet_;               // with scheduler_: the hosts and their leases
  std::unique_ptr<AgentServer> server_;
  std::unique_ptr<HostLauncher> own_launcher_;  // when options_ brings none
  std::unique_ptr<HostSupervisor> hosts_;

  // Owned by the executor.
  bool shutting_down_ = false;
  std::chrono::steady_clock::time_point metrics_updated_{};
  bool metrics_ticking_ = false;  // the cancel check ticks: UpdateMetrics may skip events
  HeadBaseline baseline_;  // what the tests on the head said before any agent started
  int cancel_exit_ = 0;     // non-zero once cancelled: the exit status to return
  std::string cancel_reason_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_COORDINATOR_H_
