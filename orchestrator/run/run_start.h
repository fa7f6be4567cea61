// What happens to a run before its first agent starts, after its site is open: a dead run's state
// taken over, the head tested, and the ending of a run that stops before it began (a failed setup, a
// head that fails its tests, a signal or a cancel meanwhile).
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_START_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_START_H_

#include <functional>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/landing_pipeline.h"
#include "orchestrator/run/lease_table.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/run/run_site.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

// What the tests on the head said before any agent started: the baseline of per-test results.
struct HeadBaseline {
  bool base_passed = false;            // a resumed run: its base test had passed before it died
  TestOutcome head_outcome;            // the tests on the head (for the queue's first candidate)
  std::set<std::string> base_failing;  // per-test formats: failing at the base (for the report)
};

using RecordEvent = std::function<void(v1::Event)>;

// Takes over a run whose coordinator died: reconciles the store with the ref, restores the pipeline,
// the fences and the gate's memory, records what it did, and says so on `out` (not with --json).
absl::Status RestoreRun(const PreparedRun& run, RunSite& site, LandingPipeline& pipeline, LeaseTable& leases,
                        const RecordEvent& record, std::ostream& out, HeadBaseline& baseline);

// Tests the head (the base, or a resumed run's integration head) and starts the pipeline from it.
// With `exit`, a head that fails its tests is an error; with a per-test format, what fails there is
// the baseline, told on `out`.
absl::Status CheckRunHead(const PreparedRun& run, RunSite& site, LandingPipeline& pipeline,
                          const RecordEvent& record, std::ostream& out, HeadBaseline& baseline);

// A run that ends before any agent started.
struct EarlyEnd {
  absl::Status why;
  int exit_code = 0;
  v1::Event finished;  // RunFinished at the base: cancelled or failed
};

// Writes the report.json of a run that ended early, saying why: a CI job reads it whatever happened.
// Nothing is written for a run whose start was never recorded.
void WriteEarlyReport(const Store& store, const std::string& run_id, const std::string& run_dir, const EarlyEnd& end);

// Nothing when the run may go on; else how it ends. `signal`: one received during setup (0: none);
// `cancelled`: a cancel request's reason.
std::optional<EarlyEnd> EndBeforeAgents(const absl::Status& setup, const absl::Status& head, int signal,
                                        const std::optional<std::string>& cancelled, const std::string& base);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_START_H_
