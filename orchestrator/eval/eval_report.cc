#include "orchestrator/eval/eval_report.h"

#include <nlohmann/json.hpp>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/terminal_text.h"

namespace swarm {
namespace {

using nlohmann::json;

json TallyJson(const TestTally& t) {
  return {{"passed", t.passed.size()}, {"total", t.passed.size() + t.failed.size()}, {"failing", t.failed}};
}

std::string Fraction(const TestTally& t) {
  return absl::StrCat(t.passed.size(), "/", t.passed.size() + t.failed.size());
}

json InstanceJson(const GradedInstance& g) {
  const Grade& gr = g.grade;
  return {{"instance_id", g.instance->id},
          {"repo", g.instance->repo},
          {"resolved", gr.status == GradeStatus::kResolved},
          {"status", GradeStatusName(gr.status)},
          {"reason", gr.reason},
          {"FAIL_TO_PASS", TallyJson(gr.fail_to_pass)},
          {"PASS_TO_PASS", TallyJson(gr.pass_to_pass)},
          {"exit_code", gr.exit_code},
          {"timed_out", gr.timed_out},
          {"steps", g.steps},
          {"tokens", g.tokens},
          {"cost_usd", g.cost_usd},
          {"wall_s", g.solve_wall_s},
          {"grade_wall_s", gr.wall_s},
          {"log", gr.log_path}};
}

}  // namespace

std::string InstanceJsonLine(const GradedInstance& graded) {
  return InstanceJson(graded).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

EvalTotals Count(const std::vector<GradedInstance>& graded) {
  EvalTotals t;
  for (const GradedInstance& g : graded) {
    switch (g.grade.status) {
      case GradeStatus::kResolved:
        ++t.resolved;
        break;
      case GradeStatus::kUnresolved:
        ++t.unresolved;
        break;
      case GradeStatus::kError:
        ++t.errors;
        break;
    }
  }
  return t;
}

std::string ReportJson(const std::vector<GradedInstance>& graded, const std::string& model,
                       const std::string& instances_file, const std::string& spec_file) {
  const EvalTotals totals = Count(graded);
  json instances = json::array();
  for (const GradedInstance& g : graded) instances.push_back(InstanceJson(g));
  json report = {{"model", model},         {"instances_file", instances_file}, {"spec_file", spec_file},
                 {"total", graded.size()}, {"resolved", totals.resolved},      {"unresolved", totals.unresolved},
                 {"error", totals.errors}, {"instances", std::move(instances)}};
  return report.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

void PrintTable(const std::vector<GradedInstance>& graded, const std::string& model, std::ostream& out) {
  std::size_t width = 8;
  for (const GradedInstance& g : graded) width = std::max(width, g.instance->id.size());
  out << absl::StrFormat("%-*s  %-10s  %-12s  %-12s  %7s  %s\n", width, "instance", "status", "FAIL_TO_PASS",
                         "PASS_TO_PASS", "grade", "why");
  for (const GradedInstance& g : graded) {
    std::string why = TerminalSafe(g.grade.reason);
    if (why.size() > 100) why = why.substr(0, 97) + "...";
    for (char& c : why) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    out << absl::StrFormat("%-*s  %-10s  %-12s  %-12s  %6.1fs  %s\n", width, g.instance->id,
                           GradeStatusName(g.grade.status), Fraction(g.grade.fail_to_pass),
                           Fraction(g.grade.pass_to_pass), g.grade.wall_s, why);
  }
  const EvalTotals t = Count(graded);
  out << absl::StrFormat("%s: resolved %d of %d (%.1f%%); unresolved %d; could not be graded %d\n", TerminalSafe(model),
                         t.resolved, graded.size(), graded.empty() ? 0.0 : 100.0 * t.resolved / graded.size(),
                         t.unresolved, t.errors);
}

}  // namespace swarm
