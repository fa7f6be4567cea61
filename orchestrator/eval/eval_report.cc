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
  return {{"passed", t.passed.size()},
          {"total", t.passed.size() + t.failed.size()},
          {"passing", t.passed},
          {"failing", t.failed}};
}

// An int read back from results.jsonl; a number that is not one (a float, a huge one: converting it
// would be undefined) throws, and the line is skipped.
int SmallInt(const json& j) {
  if (!j.is_number_integer() || j.get<std::int64_t>() < -(1 << 30) || j.get<std::int64_t>() > (1 << 30)) {
    throw json::type_error::create(302, "not a small integer", &j);
  }
  return static_cast<int>(j.get<std::int64_t>());
}

bool ReadTally(const json& j, TestTally& t) {
  if (!j.is_object() || !j.contains("passing") || !j.contains("failing") || !j["passing"].is_array() ||
      !j["failing"].is_array()) {
    return false;
  }
  for (const json& n : j["passing"]) {
    if (!n.is_string()) return false;
    t.passed.push_back(n.get<std::string>());
  }
  for (const json& n : j["failing"]) {
    if (!n.is_string()) return false;
    t.failed.push_back(n.get<std::string>());
  }
  return true;
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
          {"log", gr.log_path},
          {"model_name_or_path", g.model}};
}

}  // namespace

std::map<std::string, GradedInstance> ReadResults(std::string_view text,
                                                  const std::map<std::string, const EvalInstance*>& known,
                                                  const std::string& model) {
  std::map<std::string, GradedInstance> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    json j = json::parse(text.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (!j.is_object()) continue;
    try {
      auto in = known.find(j.at("instance_id").get<std::string>());
      if (in == known.end() || j.at("model_name_or_path").get<std::string>() != model) continue;
      GradedInstance g;
      g.instance = in->second;
      g.model = model;
      const std::string status = j.at("status").get<std::string>();
      g.grade.status = status == "resolved"     ? GradeStatus::kResolved
                       : status == "unresolved" ? GradeStatus::kUnresolved
                                                : GradeStatus::kError;
      g.grade.reason = j.at("reason").get<std::string>();
      if (!ReadTally(j.at("FAIL_TO_PASS"), g.grade.fail_to_pass) ||
          !ReadTally(j.at("PASS_TO_PASS"), g.grade.pass_to_pass)) {
        continue;
      }
      g.grade.exit_code = SmallInt(j.at("exit_code"));
      g.grade.timed_out = j.at("timed_out").get<bool>();
      g.grade.wall_s = j.at("grade_wall_s").get<double>();
      g.grade.log_path = j.at("log").get<std::string>();
      g.steps = SmallInt(j.at("steps"));
      if (!j.at("tokens").is_number_unsigned()) continue;
      g.tokens = j.at("tokens").get<std::uint64_t>();
      g.cost_usd = j.at("cost_usd").get<double>();
      g.solve_wall_s = j.at("wall_s").get<double>();
      out[in->first] = std::move(g);
    } catch (const json::exception&) {
      continue;  // a line cut by the interruption, or not ours
    }
  }
  return out;
}

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
