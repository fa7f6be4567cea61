// `swarm run --dashboard [ADDR]` (and `swarm resume --dashboard`): the web dashboard, and /metrics,
// served by the run's own process while it runs (orchestrator/dashboard/), on loopback by default. Its token is
// $SWARM_TOKEN when set, else a fresh one shown only on a terminal; it never reaches an agent.
#ifndef SWARM_ORCHESTRATOR_RUN_DASHBOARD_H_
#define SWARM_ORCHESTRATOR_RUN_DASHBOARD_H_

#include <iosfwd>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

class Coordinator;
class Dashboard;
class HttpServer;
class LiveBoard;

// Where --dashboard without an address listens: loopback, a free port.
inline constexpr char kDefaultDashboardAddress[] = "127.0.0.1:0";

class RunDashboard final {
 public:
  // Whether `address` is one --dashboard may listen on (HOST:PORT, loopback): InvalidArgument naming it.
  static absl::Status CheckAddress(const std::string& address);
  // Listens on `address` and says where on `err`. InvalidArgument (exit 2) for an address that is
  // not loopback or not HOST:PORT, or a $SWARM_TOKEN too short; Unavailable (exit 3) when the address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<RunDashboard>> Start(const std::string& address, const std::string& state_dir,
                                                             const std::string& run_id, std::ostream& err);
  ~RunDashboard();  // stops serving
  RunDashboard(const RunDashboard&) = delete;
  RunDashboard& operator=(const RunDashboard&) = delete;

  // The run's live updates (CoordinatorOptions::on_live), from its executor.
  void Publish(const v1::Event& live);
  // The page's cancel asks `coordinator` (null: through the run's cancel file). Unset it before the
  // coordinator goes: a cancel being asked is waited for.
  void SetCoordinator(Coordinator* coordinator);

 private:
  RunDashboard();
  std::string run_id_;
  std::unique_ptr<LiveBoard> live_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<HttpServer> http_;
  absl::Mutex mu_;
  Coordinator* coordinator_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_DASHBOARD_H_
