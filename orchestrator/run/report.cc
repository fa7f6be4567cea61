#include "orchestrator/run/report.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/terminal_text.h"
#include "base/utf8.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/run_setup.h"

namespace swarm {
namespace fs = std::filesystem;

std::string OutcomeName(v1::SubtaskState state) {
  return absl::AsciiStrToLower(v1::SubtaskState_Name(state));
}

absl::StatusOr<std::string> WriteReport(const Store& store, const ReportContext& ctx,
                                        const std::vector<v1::Event>* events) {
  absl::StatusOr<RunRow> run = store.Run(ctx.run_id);
  if (!run.ok()) return run.status();
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(ctx.run_id);
  if (!subtasks.ok()) return subtasks.status();
  absl::StatusOr<std::vector<AttemptRow>> attempts = store.Attempts(ctx.run_id);
  if (!attempts.ok()) return attempts.status();
  absl::StatusOr<std::vector<v1::Event>> read;
  if (events == nullptr) {
    read = store.Events(ctx.run_id);
    if (!read.ok()) return read.status();
    events = &*read;
  }
  // Per subtask: the agent log of its newest patch, and the newest test run that passed or failed it.
  std::map<std::string, std::string> patch_logs, passed_test_logs;
  std::map<std::string, std::vector<std::string>> failing_tests;
  for (const AttemptRow& a : *attempts) {
    if (a.outcome == "patch" && !a.log_path.empty()) patch_logs[a.subtask_id] = a.log_path;
  }
  for (const v1::Event& e : *events) {
    if (!e.has_test_run()) continue;
    const v1::TestRun& t = e.test_run();
    for (const std::string& id : t.subtask_ids()) {
      if (t.passed()) {
        passed_test_logs[id] = t.log_path();
        failing_tests.erase(id);
      } else {
        std::vector<std::string>& names = failing_tests[id];
        names.clear();
        for (const std::string& name : t.failing_tests()) {
          if (!ctx.failing_at_base.count(name)) names.push_back(name);  // what the patch broke
        }
      }
    }
  }
  // Paths inside the run directory are given relative to it: a CI job uploads the directory.
  auto relative = [&](const std::string& path) {
    const std::string prefix = ctx.run_dir + "/";
    return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
  };

  nlohmann::json doc;
  doc["schema"] = 2;
  doc["run_dir"] = ctx.run_dir;
  doc["run_id"] = ctx.run_id;
  doc["repo"] = run->repo;
  doc["base"] = run->base;
  doc["head"] = run->head;
  doc["state"] = run->state;
  doc["exit_code"] = ctx.exit_code;
  if (!ctx.reason.empty()) doc["reason"] = ToUtf8(ctx.reason);
  doc["result_branch"] = ctx.result_branch;
  doc["result_patch"] = relative(ctx.patch_path);
  doc["created_unix_ms"] = run->created_unix_ms;
  doc["finished_unix_ms"] = run->finished_unix_ms;
  doc["duration_ms"] = run->finished_unix_ms - run->created_unix_ms;
  doc["sandbox"] = ctx.sandbox;
  doc["limits"] = ctx.limits;
  doc["workspaces"] = ctx.workspaces;
  if (!ctx.workspace_kind.empty()) doc["workspace_kind"] = ctx.workspace_kind;
  doc["warnings"] = ctx.warnings;
  doc["tests"] = {{"format", ctx.test_format}, {"flaky", ctx.flaky}};
  if (ctx.test_format != "exit") {
    doc["tests"]["failing_at_base"] = ctx.failing_at_base;
    doc["tests"]["failing_at_end"] = ctx.failing_at_end;
  }
  absl::StatusOr<std::map<std::string, ModelSpend>> spend = store.SpendBySubtask(ctx.run_id);
  if (!spend.ok()) return spend.status();
  auto spend_json = [](const ModelSpend& m) {
    return nlohmann::json{{"calls", m.calls}, {"failed_calls", m.failed}, {"input_tokens", m.input_tokens},
                          {"cached_input_tokens", m.cached_input_tokens}, {"output_tokens", m.output_tokens},
                          {"cost_usd", m.cost_usd}};
  };
  const ModelSpend total = TotalSpend(*spend);
  if (total.calls > 0) {
    doc["model"] = spend_json(total);
    doc["model"]["limiter_wait_s"] = static_cast<double>(total.limiter_wait_ms) / 1000;
  }
  if (total.calls > 0 && ctx.timing) doc["model"]["faults"] = ctx.timing->model_faults;  // kind -> HTTP attempts
  if (ctx.model_concurrency > 0) {
    doc["model"]["concurrency"] = {{"limit", ctx.model_concurrency},
                                   {"limit_at_end", ctx.model_concurrency_end},
                                   {"peak_in_flight", ctx.model_peak_in_flight}};
  }
  std::map<std::string, int> counts;
  doc["subtasks"] = nlohmann::json::array();
  for (const auto& s : *subtasks) {
    std::string outcome = OutcomeName(s.state);
    ++counts[outcome];
    const std::string& id = s.spec.id();
    std::string log = s.log_path;
    if (log.empty() && s.state == v1::LANDED) log = patch_logs.count(id) ? patch_logs[id] : "";
    nlohmann::json j = {{"id", id},
                        {"title", s.spec.title()},
                        {"outcome", outcome},
                        {"reason", s.reason},
                        {"log", relative(log)},
                        {"attempts", s.attempts},
                        {"commit", s.landed_commit},
                        {"group", s.spec.group()}};
    if (s.state == v1::LANDED && passed_test_logs.count(id)) j["test_log"] = relative(passed_test_logs[id]);
    if (s.state != v1::LANDED && failing_tests.count(id) && !failing_tests[id].empty()) {
      j["failing_tests"] = failing_tests[id];
    }
    if (auto m = spend->find(s.spec.id()); m != spend->end()) j["model"] = spend_json(m->second);
    doc["subtasks"].push_back(j);
  }
  doc["counts"] = counts;
  if (ctx.timing) {
    const RunTiming& timing = *ctx.timing;
    nlohmann::json stages = nlohmann::json::object();
    for (const auto& [name, s] : timing.stages) {
      stages[name] = {{"count", s.count}, {"p50_s", s.p50_s}, {"p99_s", s.p99_s}, {"total_s", s.total_s}};
    }
    doc["timing"] = {{"wall_s", timing.wall_s},
                     {"agents", timing.agents},
                     {"agent_busy_s", timing.agent_busy_s},
                     {"agent_idle_s", timing.agent_idle_s},
                     {"parallel_efficiency", timing.efficiency},
                     {"critical_path", timing.critical_path},
                     {"critical_path_s", timing.critical_path_s},
                     {"stages", stages}};
    if (!timing.model_in_flight.empty()) {
      doc["timing"]["model_in_flight"] = {{"slice_s", timing.in_flight_slice_s}, {"peak", timing.model_in_flight}};
    }
  }
  const int landed = counts.count("landed") ? counts["landed"] : 0;
  if (doc.contains("model") && doc["model"].contains("cost_usd") && landed > 0) {
    doc["model"]["cost_per_landed_usd"] = doc["model"]["cost_usd"].get<double>() / landed;
  }
  std::string path = ctx.run_dir + "/report.json";
  std::ofstream f(path);
  f << doc.dump(2) << "\n";
  f.close();  // a full disk may show only when the last of it is written
  if (!f) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  return path;
}

void PrintSummary(std::ostream& out, const Store& store, const ReportContext& ctx, const std::string& report_path) {
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(ctx.run_id);
  if (!subtasks.ok()) return;
  std::size_t width = 4;
  for (const auto& s : *subtasks) width = std::max(width, s.spec.id().size());
  out << "\n";
  for (const auto& s : *subtasks) {
    std::string outcome = OutcomeName(s.state);
    out << "  " << outcome << std::string(outcome.size() < 19 ? 19 - outcome.size() : 1, ' ') << s.spec.id()
        << std::string(width + 2 - s.spec.id().size(), ' ') << TerminalSafe(s.spec.title());
    if (s.state == v1::LANDED) out << "  [" << s.landed_commit.substr(0, 12) << "]";
    out << "\n";
    if (s.state != v1::LANDED && !s.reason.empty()) out << "      " << TerminalSafe(s.reason) << "\n";
    if (s.state != v1::LANDED && !s.log_path.empty()) out << "      log: " << s.log_path << "\n";
  }
  out << "\n";
  if (ctx.lanes) {
    // A backlog's branches, one per resolved issue, follow in its own summary.
  } else if (!ctx.result_branch.empty()) {
    out << "result branch: " << ctx.result_branch << "\n";
  } else if (std::any_of(subtasks->begin(), subtasks->end(),
                         [](const SubtaskRow& s) { return s.state == v1::LANDED; })) {
    out << "no branch was created for what landed (see above); `swarm resume " << ctx.run_id << "` publishes it\n";
  } else {
    out << "nothing landed: no branch was created\n";
  }
  if (ctx.test_format != "exit") {
    out << "tests failing at the base: " << ctx.failing_at_base.size() << ", at the end: " << ctx.failing_at_end.size()
        << (ctx.failing_at_end.empty() ? "" : " (listed in report.json)") << "\n";
  }
  for (const auto& [name, times] : ctx.flaky) {
    out << "flaky: " << TerminalSafe(name) << " failed and then passed on a re-run " << times << (times == 1 ? " time" : " times")
        << "\n";
  }
  if (ctx.timing) {
    const RunTiming& t = *ctx.timing;
    if (t.agents > 0 && t.wall_s > 0) {
      auto stage = [&](const char* name) {
        auto it = t.stages.find(name);
        return it == t.stages.end() ? std::string("-")
                                    : absl::StrFormat("%.1f/%.1f s", it->second.p50_s, it->second.p99_s);
      };
      const int chain = static_cast<int>(t.critical_path.size());
      out << absl::StrFormat("parallelism: %d %s busy %.0f%% of %.1f s; critical path %d %s, %.1f s\n", t.agents,
                             t.agents == 1 ? "agent" : "agents", 100 * t.efficiency, t.wall_s, chain,
                             chain == 1 ? "subtask" : "subtasks", t.critical_path_s)
          << "stages p50/p99: waiting for a lease " << stage("lease_wait") << ", agent " << stage("agent")
          << ", patch " << stage("patch") << ", check and queue " << stage("merge") << "\n";
    }
  }
  if (absl::StatusOr<std::map<std::string, ModelSpend>> spend = store.SpendBySubtask(ctx.run_id); spend.ok()) {
    const ModelSpend total = TotalSpend(*spend);
    if (total.calls > 0) {
      out << absl::StrFormat("model: %u calls, %u tokens in (%u cached), %u out, $%.4f\n", total.calls,
                             total.input_tokens, total.cached_input_tokens, total.output_tokens, total.cost_usd);
      if (ctx.model_concurrency > 0) {
        out << absl::StrFormat("model concurrency: %d in flight allowed (%d at the end), peak %d; %.1f s waited for it\n",
                               ctx.model_concurrency, ctx.model_concurrency_end, ctx.model_peak_in_flight,
                               static_cast<double>(total.limiter_wait_ms) / 1000);
      }
      if (ctx.timing && !ctx.timing->model_faults.empty()) {
        std::vector<std::string> parts;
        for (const auto& [kind, n] : ctx.timing->model_faults) {
          parts.push_back(absl::StrCat(n, " ", absl::StrReplaceAll(kind, {{"_", " "}})));
        }
        out << "model faults: " << absl::StrJoin(parts, ", ") << "\n";
      }
    }
  }
  if (!ctx.lanes) out << "patch:  " << ctx.patch_path << "\n";
  if (!report_path.empty()) out << "report: " << report_path << "\n";
  // A run that stopped before its end goes on from where it stopped.
  std::string resume = absl::StrCat("swarm resume ", ctx.run_id);
  std::error_code ec;
  const fs::path state_dir = fs::path(ctx.run_dir).parent_path().parent_path();
  if (!fs::equivalent(state_dir, DefaultStateDir(), ec)) absl::StrAppend(&resume, " --state-dir ", state_dir.string());
  if (ctx.exit_code == kExitCancelled || ctx.exit_code == kExitInterrupted) {
    out << "stopped before the end; `" << resume << "` goes on from here\n";
  } else if (ctx.exit_code == kExitBudget) {
    out << "stopped on its budget; `" << resume << " --budget-usd N` goes on with a larger one\n";
  }
  out.flush();
}

void ReportRun(const Store& store, ReportContext ctx, std::ostream& summary, std::ostream& err) {
  // Read once, for the timing and the report.
  absl::StatusOr<std::vector<v1::Event>> events = store.Events(ctx.run_id);
  if (events.ok()) ctx.timing = MeasureRun(*events);
  absl::StatusOr<std::string> report = WriteReport(store, ctx, events.ok() ? &*events : nullptr);
  if (!report.ok()) err << "swarm: cannot write the report: " << report.status().message() << "\n";
  PrintSummary(summary, store, ctx, report.ok() ? *report : "");
}

}  // namespace swarm
