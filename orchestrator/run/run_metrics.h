// What a run adds to the process's Prometheus metrics (base/metrics.h; docs/metrics.md lists every
// series): counters from its events as they are stored, so that at its end they agree with its
// report, and gauges of its state now, which it takes back when it ends. Several runs in one process
// (`swarm serve`) add up. On the coordinator's executor.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_METRICS_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_METRICS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/metrics.h"
#include "models/model_config.h"
#include "orchestrator/run/lease_table.h"
#include "orchestrator/run/scheduler.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

class RunMetrics final {
 public:
  // `model`: the run's model (none: no model), whose labels are `provider` and `model`: its name when
  // the provider's table lists it, else "other" (any_model providers take any name a client sends),
  // "script" for a scripted model (its name is a path).
  explicit RunMetrics(const std::optional<ResolvedModel>& model, metrics::Registry& registry = metrics::Metrics());
  ~RunMetrics();  // the run's gauges are taken back
  RunMetrics(const RunMetrics&) = delete;
  RunMetrics& operator=(const RunMetrics&) = delete;

  // Counts a stored event. RunFinished takes the run's gauges back: it is over, whatever follows.
  void Observe(const v1::Event& event);

  // The run's state now, as its gauges show it.
  struct Now {
    int pending = 0;  // subtasks
    int running = 0;
    int merging = 0;  // a patch on its way through the check stage and the merge queue
    int landed = 0;
    int failed = 0;
    int skipped = 0;
    int no_change = 0;
    int hosts = 0;
    int slots = 0;        // agents the hosts can run
    int busy_agents = 0;  // leases held
    int model_in_flight = 0;
    int model_limit = 0;  // the rate limiter's concurrency now
    double budget_usd = 0;
  };
  void Update(const Now& now);

  struct Families;  // every family a run adds to (run_metrics.cc)

 private:
  // Sets this run's share of `gauge` to `value`.
  void Share(metrics::Gauge& gauge, double value);

  void End();

  std::unique_ptr<Families> families_;
  const std::string provider_;  // the labels of the run's model calls
  const std::string model_;
  bool ended_ = false;
  std::map<metrics::Gauge*, double> shares_;  // what this run adds to each gauge
};

// Makes every family a run adds to, with the series of its closed sets at zero, so that a scrape
// before any run (`swarm serve --http`) shows them all. RunMetrics calls it too.
void DeclareRunMetrics(metrics::Registry& registry = metrics::Metrics());

// The run's state now from its parts (null before they are made: every subtask pending).
RunMetrics::Now MetricsNow(const Scheduler* scheduler, int subtasks, const LeaseTable* leases, int model_in_flight,
                           int model_limit, double budget_usd);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_METRICS_H_
