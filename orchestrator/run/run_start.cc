#include "orchestrator/run/run_start.h"

#include <signal.h>

#include <ostream>

#include "base/utf8.h"
#include "git/integration_repo.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/head_check.h"
#include "orchestrator/run/recovery.h"
#include "orchestrator/run/report.h"
#include "orchestrator/run/run_events.h"
#include "orchestrator/store/event_kinds.h"
#include "orchestrator/store/store.h"

namespace swarm {

absl::Status RestoreRun(const PreparedRun& run, RunSite& site, LandingPipeline& pipeline, LeaseTable& leases,
                        const RecordEvent& record, std::ostream& out, HeadBaseline& baseline) {
  absl::StatusOr<Recovery> rec =
      Recover(*site.store, *site.repo, run.plan, run.run_id, run.base, run.config.test_command);
  if (!rec.ok()) return rec.status();
  record(RunResumedEvent(*rec, site.leftovers_killed, run.config.budget_usd));
  for (auto& e : rec->missing) record(std::move(e));
  pipeline.Restore(*rec);
  leases.RestoreFence(rec->last_fence);
  site.gate->ContinueRunIndexFrom(rec->test_runs);
  baseline.base_failing = rec->base_failing;
  baseline.base_passed = rec->base_passed;
  if (site.gate->format() == TestFormat::kExit) {
    for (const auto& tree : rec->passed_trees) site.gate->RememberPassed(tree);
  }
  if (!run.config.json) {
    out << "swarm: head " << rec->head.substr(0, 12) << "; " << rec->reconciled_landings
        << " landings recovered from the ref, " << rec->interrupted_attempts << " interrupted attempts redone, "
        << site.leftovers_killed << " leftover processes killed\n";
  }
  return absl::OkStatus();
}

absl::Status CheckRunHead(const PreparedRun& run, RunSite& site, LandingPipeline& pipeline,
                          const RecordEvent& record, std::ostream& out, HeadBaseline& baseline) {
  const bool at_base = pipeline.head() == run.base;
  absl::StatusOr<HeadCheck> check = TestHead(*site.gate, site.repo->git(), pipeline.head(), at_base);
  if (!check.ok()) return check.status();
  pipeline.CountFlaky(check->flaky);
  record(TestRunEvent(site.gate->command(), site.gate->format(), check->tree, check->outcome, {}, "", check->flaky,
                      v1::TEST_STAGE_HEAD));
  baseline.head_outcome = check->outcome;
  if (at_base) baseline.base_failing = check->outcome.results.Failing();
  pipeline.FailingAt(pipeline.head(), check->outcome.results.Failing());
  const std::string where = at_base ? "the base commit " + run.base.substr(0, 12) : "the integration head";
  if (absl::Status st = AcceptHead(*check, site.gate->format(), where); !st.ok()) return st;
  if (site.gate->format() != TestFormat::kExit && !baseline.base_failing.empty() && !run.config.json) {
    out << "swarm: " << baseline.base_failing.size() << " tests fail on " << where
        << "; patches may not break others, and the tests their subtasks name must pass\n";
  }
  return absl::OkStatus();
}

void WriteEarlyReport(const Store& store, const std::string& run_id, const std::string& run_dir, const EarlyEnd& end) {
  ReportContext ctx;
  ctx.run_id = run_id;
  ctx.run_dir = run_dir;
  ctx.exit_code = end.exit_code;
  ctx.reason = std::string(end.why.message());
  WriteReport(store, ctx).IgnoreError();
}

std::optional<EarlyEnd> EndBeforeAgents(const absl::Status& setup, const absl::Status& head, int signal,
                                        const std::optional<std::string>& cancelled, const std::string& base) {
  if (setup.ok() && head.ok() && signal == 0 && !cancelled) return std::nullopt;
  EarlyEnd end;
  end.why = !setup.ok() ? setup : head;
  if (signal != 0) {
    end.why = absl::CancelledError(signal == SIGINT ? "interrupted before any agent started" : "terminated");
  } else if (cancelled) {
    end.why = absl::CancelledError(*cancelled + " before any agent started");
  }
  end.exit_code = signal == SIGINT ? kExitInterrupted : ExitCodeFor(end.why);
  v1::RunFinished* f = end.finished.mutable_run_finished();
  SetState(*f, signal != 0 || cancelled ? v1::RUN_STATE_CANCELLED : v1::RUN_STATE_FAILED);
  f->set_head(base);
  f->set_exit_code(end.exit_code);
  f->set_reason(ToUtf8(std::string(end.why.message())));
  return end;
}

}  // namespace swarm
