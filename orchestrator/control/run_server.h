// The standing coordinator host behind `swarm serve`: starts runs in its state directory, each with
// its own Coordinator on its own thread, and answers for them (status, events, cancel). The plain
// handler class behind the Control API: it knows nothing of gRPC.
//
// Thread-safe: every method may be called from any thread (the gRPC server's).
#ifndef SWARM_ORCHESTRATOR_CONTROL_RUN_SERVER_H_
#define SWARM_ORCHESTRATOR_CONTROL_RUN_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/control/served_spec.h"
#include "orchestrator/dashboard/live_board.h"
#include "orchestrator/run/run_config.h"
#include "sandbox/sandbox.h"
#include "swarm/v1/control.pb.h"

namespace swarm {

class Coordinator;
class Store;

class RunServer final {
 public:
  using SandboxFactory = std::function<absl::StatusOr<std::unique_ptr<Sandbox>>(const RunConfig&)>;

  // Creates `state_dir` (and its database) when missing. PermissionDenied when it cannot. `policy`
  // says what clients' specs may ask for (served_spec.h).
  // `live`, when given, gets every live update of every run (an agent's activity, the merge stages'
  // tests), on the run's thread, and forgets a run once its coordinator has returned; Watch streams
  // what it holds of the run watched. It must outlive the server.
  static absl::StatusOr<std::unique_ptr<RunServer>> Create(const std::string& state_dir, SandboxFactory sandboxes,
                                                           ServePolicy policy, LiveBoard* live = nullptr);
  ~RunServer();  // Shutdown()
  RunServer(const RunServer&) = delete;
  RunServer& operator=(const RunServer&) = delete;

  // Checks the spec against the policy (ConfigForServedSpec: nothing the owner did not allow) and as
  // `swarm run` would (PrepareRun's errors), and starts the run on a thread of its own; the
  // coordinator's output goes to <run dir>/coordinator.log. Unavailable once shutting down.
  absl::StatusOr<v1::SubmitReply> Submit(const v1::RunSpec& spec);

  // Asks a live run to stop. NotFound for an unknown run; FailedPrecondition when it already ended.
  absl::Status Cancel(const std::string& run_id, const std::string& reason);

  absl::StatusOr<v1::RunStatus> Get(const std::string& run_id);
  absl::StatusOr<std::vector<v1::RunStatus>> List();

  // The run's events with seq > after_seq, then new ones, until RunFinished (event_tail.h), on the
  // calling thread, with the run's live updates (live, no seq) among them, at most ten times a second.
  // Ends with Cancelled when `stop` says so or the server shuts down.
  absl::Status Watch(const std::string& run_id, std::uint64_t after_seq, const std::function<bool()>& stop,
                     const std::function<bool(const v1::Event&)>& on_event);

  // Refuses new runs, cancels the live ones and waits for them to finish. Idempotent.
  void Shutdown();

  const std::string& state_dir() const { return state_dir_; }

 private:
  struct LiveRun;
  RunServer(std::string state_dir, SandboxFactory sandboxes, ServePolicy policy, std::unique_ptr<Store> store,
            LiveBoard* live);
  bool IsLive(const std::string& run_id);
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);  // joins the threads of runs that have ended
  absl::StatusOr<v1::RunStatus> StatusFromStore(const std::string& run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A run's coordinator (null once its Run() returned) and exit code, which mu_ guards: the analysis
  // cannot name this mu_ from inside LiveRun, so they are reached only through these.
  std::unique_ptr<Coordinator>& CoordinatorOf(LiveRun& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int& ExitCodeOf(LiveRun& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Set at construction.
  const std::string state_dir_;
  const SandboxFactory sandboxes_;
  const ServePolicy policy_;
  LiveBoard* const live_board_;

  absl::Mutex mu_;
  std::unique_ptr<Store> store_ ABSL_GUARDED_BY(mu_);  // reads for Get and List
  std::map<std::string, std::unique_ptr<LiveRun>> live_ ABSL_GUARDED_BY(mu_);  // by run id
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_CONTROL_RUN_SERVER_H_
