#include "orchestrator/run_dashboard.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "orchestrator/control/control_token.h"
#include "orchestrator/dashboard/dashboard.h"
#include "orchestrator/dashboard/live_board.h"
#include "orchestrator/run/coordinator.h"
#include "orchestrator/run/run_metrics.h"
#include "orchestrator/web/http_server.h"

namespace swarm {

RunDashboard::RunDashboard() = default;

RunDashboard::~RunDashboard() {
  // The run has ended: pages watching it get its last events (their streams end after RunFinished),
  // for a few seconds at most.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (http_ != nullptr && http_->open_streams() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  http_.reset();  // before the dashboard: its streams read through it
}

absl::Status RunDashboard::CheckAddress(const std::string& address) {
  absl::StatusOr<std::pair<std::string, int>> host = SplitHostPort(address);
  if (!host.ok()) return absl::InvalidArgumentError(absl::StrCat("--dashboard: ", host.status().message()));
  if (!IsLoopbackHost(host->first)) {
    return absl::InvalidArgumentError(absl::StrCat("--dashboard ", address, " is not a loopback address; ",
                                                   "serve another one with `swarm serve --http ADDR --tls-cert ",
                                                   "FILE --tls-key FILE`"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RunDashboard>> RunDashboard::Start(const std::string& address,
                                                                  const std::string& state_dir,
                                                                  const std::string& run_id, std::ostream& err) {
  if (absl::Status st = CheckAddress(address); !st.ok()) return st;
  std::string token;
  bool fresh = false;
  if (const char* env = getenv(kTokenEnv); env != nullptr && *env != '\0') {
    token = env;
    if (absl::Status st = CheckTokenLength(token, absl::StrCat("$", kTokenEnv)); !st.ok()) return st;
  } else {
    absl::StatusOr<std::string> made = NewControlToken();
    if (!made.ok()) return made.status();
    token = *made;
    fresh = true;
  }
  unsetenv(kTokenEnv);  // for the dashboard's clients, never for the run's agents
  std::unique_ptr<RunDashboard> d(new RunDashboard());
  d->run_id_ = run_id;
  d->live_ = std::make_unique<LiveBoard>();
  RunDashboard* self = d.get();
  d->dashboard_ =
      std::make_unique<Dashboard>(DashboardOptions{.state_dir = state_dir,
                                                   .token = token,
                                                   .secure = false,
                                                   .live = d->live_.get(),
                                                   .cancel = [self](const std::string& id, const std::string& why) {
                                                     absl::MutexLock lock(&self->mu_);
                                                     if (id != self->run_id_ || self->coordinator_ == nullptr)
                                                       return absl::NotFoundError(id);
                                                     self->coordinator_->RequestCancel(why);
                                                     return absl::OkStatus();
                                                   }});
  Dashboard* dashboard = d->dashboard_.get();
  absl::StatusOr<std::unique_ptr<HttpServer>> http =
      HttpServer::Start({.listen = address}, [dashboard](const WebRequest& r) { return dashboard->Answer(r); });
  if (!http.ok()) {
    if (absl::IsInvalidArgument(http.status())) return http.status();
    return absl::UnavailableError(absl::StrCat("--dashboard: ", http.status().message()));
  }
  d->http_ = std::move(*http);
  DeclareRunMetrics();  // the same /metrics as `swarm serve --http`, every series from the first scrape
  const std::string page = absl::StrCat(d->http_->url(), "/runs/", run_id);
  err << "swarm: dashboard at " << page << " (Prometheus metrics at " << d->http_->url() << "/metrics)\n";
  if (fresh && isatty(STDERR_FILENO)) {
    err << "swarm: to see logs and transcripts and to cancel, open it once as " << page << "?token=" << token << "\n";
  } else if (fresh) {
    err << "swarm: the dashboard shows status only; to sign in, set $" << kTokenEnv
        << " to a secret of 32 or more characters and open the page once with ?token=SECRET\n";
  }
  err.flush();
  return d;
}

void RunDashboard::Publish(const v1::Event& live) { live_->Publish(live); }

void RunDashboard::SetCoordinator(Coordinator* coordinator) {
  absl::MutexLock lock(&mu_);
  coordinator_ = coordinator;
}

}  // namespace swarm
