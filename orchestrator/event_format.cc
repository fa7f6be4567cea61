#include "orchestrator/event_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "orchestrator/run/report.h"
#include "base/terminal_text.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

std::string Short(const std::string& commit) { return commit.substr(0, 12); }

std::string Describe(const v1::Event& e) {
  switch (e.kind_case()) {
    case v1::Event::kRunStarted: {
      const auto& s = e.run_started();
      return absl::StrCat("run started: ", s.subtasks_size(), " subtasks, ", s.agents(), " agents, base ",
                          Short(s.base_commit()), ", repo ", s.repo());
    }
    case v1::Event::kAgentRegistered:
      return absl::StrCat("agent host ", e.agent_registered().host_id(), " registered (", e.agent_registered().slots(),
                          " slots)");
    case v1::Event::kSubtaskLeased: {
      const auto& l = e.subtask_leased();
      return absl::StrCat("leased ", l.subtask_id(), " attempt ", l.attempt(), " to ", l.host_id(), " (base ",
                          Short(l.base_commit()), ")");
    }
    case v1::Event::kAttemptFinished: {
      const auto& a = e.attempt_finished();
      std::string line = absl::StrCat("attempt ", a.attempt(), " of ", a.subtask_id(), ": ", Name(OutcomeOf(a)));
      if (!a.error().empty()) absl::StrAppend(&line, " (", a.error(), ")");
      return line;
    }
    case v1::Event::kPatchSubmitted: {
      const auto& p = e.patch_submitted();
      return absl::StrCat("patch of ", p.subtask_id(), " attempt ", p.attempt(), " (", p.diff_bytes(), " bytes)");
    }
    case v1::Event::kTestRun: {
      const auto& t = e.test_run();
      std::string what = t.subtask_ids_size() == 0 ? "the base" : absl::StrJoin(t.subtask_ids(), ",");
      return absl::StrCat("test of ", what, " ", t.passed() ? "passed" : "failed", " (", t.result(), ")");
    }
    case v1::Event::kResultRefused:
      return absl::StrCat("result refused for lease ", e.result_refused().lease_id(), ": ", e.result_refused().reason());
    case v1::Event::kLeaseExpired:
      return absl::StrCat("lease ", e.lease_expired().lease_id(), " of ", e.lease_expired().subtask_id(), " expired");
    case v1::Event::kPatchRejected: {
      const auto& r = e.patch_rejected();
      std::string line = absl::StrCat("patch of ", r.subtask_id(), " rejected: ", Name(ReasonOf(r)));
      if (!r.log_path().empty()) absl::StrAppend(&line, " (log ", r.log_path(), ")");
      return line;
    }
    case v1::Event::kLanded: {
      const auto& l = e.landed();
      return absl::StrCat("landed ", absl::StrJoin(l.subtask_ids(), ","), " (commit ", Short(l.commit()), ")");
    }
    case v1::Event::kSubtaskFinished: {
      const auto& f = e.subtask_finished();
      std::string line = absl::StrCat(f.subtask_id(), " ", OutcomeName(f.state()));
      if (!f.reason().empty()) absl::StrAppend(&line, ": ", f.reason());
      return line;
    }
    case v1::Event::kRunFinished: {
      const auto& f = e.run_finished();
      std::string line = absl::StrCat("run ", Name(StateOf(f)), ": ", f.landed(), " landed, ", f.failed(), " failed, ",
                                      f.skipped(), " skipped, ", f.no_change(), " unchanged");
      if (!f.result_branch().empty()) absl::StrAppend(&line, ", branch ", f.result_branch());
      absl::StrAppend(&line, " (exit ", f.exit_code(), ")");
      return line;
    }
    case v1::Event::kRunResumed:
      return absl::StrCat("run resumed at ", Short(e.run_resumed().head()));
    case v1::Event::kModelCalled: {
      const v1::ModelCall& c = e.model_called().call();
      return absl::StrCat(c.subtask_id(), " model call ", c.step(), ": ",
                          c.ok() ? absl::StrCat(c.usage().input_tokens(), " tokens in, ", c.usage().output_tokens(), " out")
                                 : "failed: " + c.error(),
                          absl::StrFormat(", $%.4f", c.cost_usd()));
    }
    case v1::Event::kIssuePlanned: {
      const v1::IssuePlanned& p = e.issue_planned();
      if (p.subtasks_size() == 0) return absl::StrCat("issue ", p.lane(), " is one subtask: ", p.note());
      std::vector<std::string> ids;
      for (const v1::Subtask& s : p.subtasks()) ids.push_back(s.id());
      return absl::StrCat("issue ", p.lane(), " planned: ", absl::StrJoin(ids, " "));
    }
    case v1::Event::kAgentActivity: {
      const v1::AgentActivity& a = e.agent_activity();
      return absl::StrCat(a.subtask_id(), " attempt ", a.attempt(),
                          a.step() > 0 ? absl::StrCat(" step ", a.step()) : "", ": ", a.action());
    }
    case v1::Event::kQueueTesting: {
      const v1::QueueTesting& q = e.queue_testing();
      return absl::StrCat(q.stage() == "check" ? "check" : "queue", q.done() ? " tested " : " testing ",
                          absl::StrJoin(q.subtask_ids(), " "));
    }
    case v1::Event::KIND_NOT_SET:
      break;
  }
  return "unknown event";
}

}  // namespace

// Ids, titles, errors, reasons and test names in an event may come from an agent or a model: the
// line is escaped whole, and stays one line.
std::string FormatEvent(const v1::Event& event) {
  return absl::StrCat("#", event.seq(), " ", TerminalSafe(Describe(event)));
}

}  // namespace swarm
