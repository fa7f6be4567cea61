// The web dashboard (docs/dashboard.md): what each path of the HTTP server answers. Pages and their
// scripts are static files built into the binary (static/); what they show comes from the state
// directory's store (every run there, whoever runs it, finished or not) and, for the runs of this
// process, from the LiveBoard (what each agent is doing now).
//
//   GET  /                                         the runs (page)
//   GET  /runs/RUN                                 a run (page)
//   GET  /static/NAME                              the pages' scripts and styles
//   GET  /api/runs                                 the runs, newest first (JSON)
//   GET  /api/runs/RUN                             a run's row, and what this client may do (JSON)
//   GET  /api/runs/RUN/events                      its event log, then what comes, as server-sent events:
//                                                  `id: SEQ` for each event (a reconnect's Last-Event-ID,
//                                                  or ?after=SEQ, resumes after it), `event: live` for
//                                                  an agent's activity, `event: end` after RunFinished
//   GET  /api/runs/RUN/subtasks/ID                 a subtask: its spec, state, attempts, spending (JSON)
//   GET  /api/runs/RUN/subtasks/ID/log?attempt=N   an attempt's log, the running one as written (token)
//   GET  /api/runs/RUN/subtasks/ID/transcript      its model calls, request and reply (token)
//   POST /api/runs/RUN/cancel                      asks the run to stop (token, and the page's header)
//   GET  /metrics, /healthz                        web_routes.h
//
// Without the token (dashboard_auth.h) a client sees status: runs, subtasks, states, counts, cost;
// its event stream carries no text an agent or a command wrote. No stream ever carries a prompt (a
// subtask's instructions, an issue's body) or a model's reply text.
#ifndef SWARM_ORCHESTRATOR_DASHBOARD_DASHBOARD_H_
#define SWARM_ORCHESTRATOR_DASHBOARD_DASHBOARD_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "orchestrator/dashboard/live_board.h"
#include "orchestrator/web/http_server.h"

namespace swarm {

class Store;

struct DashboardOptions {
  std::string state_dir = "";
  std::string token = "";           // the Control API's; logs, transcripts, prompts and cancel need it
  bool secure = false;              // served over TLS: the session cookie is Secure
  const LiveBoard* live = nullptr;  // the activity of this process's runs; null: none
  // Asks a run of this process to stop; NotFound when it is not one of them (then the run's cancel
  // file asks its coordinator, as `swarm cancel` does). Null: the cancel file only.
  std::function<absl::Status(const std::string& run_id, const std::string& why)> cancel = nullptr;
};

class Dashboard final {
 public:
  explicit Dashboard(DashboardOptions options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // On the HTTP server's thread (its Handler): one request at a time. The server must be stopped
  // before the dashboard goes, since streams it answered read through it.
  WebResponse Answer(const WebRequest& request);

 private:
  WebResponse Runs();
  WebResponse Run(const std::string& run_id, bool authorized);
  WebResponse Events(const WebRequest& request, const std::string& run_id, bool authorized);
  WebResponse Subtask(const std::string& run_id, const std::string& subtask_id, bool authorized);
  WebResponse Log(const WebRequest& request, const std::string& run_id, const std::string& subtask_id);
  WebResponse Transcript(const std::string& run_id, const std::string& subtask_id);
  WebResponse Cancel(const std::string& run_id);
  // The state directory's store, opened on first use; null (and 503 for the caller) while it has none.
  Store* store();

  // A finished run's counts, which cannot change: the runs page asks every few seconds.
  struct RunCounts {
    int total = 0, landed = 0, failed = 0;
    double cost_usd = 0;
  };
  RunCounts CountsOf(const std::string& run_id, bool finished);

  const DashboardOptions options_;
  std::unique_ptr<Store> store_;
  std::map<std::string, RunCounts> finished_counts_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_DASHBOARD_DASHBOARD_H_
