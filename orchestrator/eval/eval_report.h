// What `swarm eval` reports: report.json for programs, a table for people (docs/eval.md).
#ifndef SWARM_ORCHESTRATOR_EVAL_EVAL_REPORT_H_
#define SWARM_ORCHESTRATOR_EVAL_EVAL_REPORT_H_

#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "orchestrator/eval/grading.h"
#include "orchestrator/eval/instances.h"

namespace swarm {

struct GradedInstance {
  const EvalInstance* instance = nullptr;
  std::string model;  // model_name_or_path
  Grade grade;
  // Solving (zero where the patch was given: gold, empty, predictions).
  int steps = 0;
  std::uint64_t tokens = 0;
  double cost_usd = 0;
  double solve_wall_s = 0;
};

struct EvalTotals {
  int resolved = 0, unresolved = 0, errors = 0;
};
EvalTotals Count(const std::vector<GradedInstance>& graded);

// report.json: {"model", "instances_file", "spec_file", "total", "resolved", "unresolved", "error",
// "instances": [{"instance_id", "repo", "resolved", "status", "reason", "FAIL_TO_PASS": {"passed",
// "total", "passing", "failing"}, "PASS_TO_PASS": {...}, "exit_code", "timed_out", "steps", "tokens",
// "cost_usd", "wall_s", "grade_wall_s", "log", "model_name_or_path"}]}.
std::string ReportJson(const std::vector<GradedInstance>& graded, const std::string& model,
                       const std::string& instances_file, const std::string& spec_file);

// One instance's entry of report.json, as one line (results.jsonl, written as each is graded).
std::string InstanceJsonLine(const GradedInstance& graded);

// The grades results.jsonl holds (the last line of each instance counts), for the instances in
// `known` (by id) and made with `model` (model_name_or_path): an interrupted eval's, to keep. Lines
// that cannot be read are skipped.
std::map<std::string, GradedInstance> ReadResults(std::string_view text,
                                                  const std::map<std::string, const EvalInstance*>& known,
                                                  const std::string& model);

// One row per instance, then the totals; terminal-safe (agents' and files' text is escaped).
void PrintTable(const std::vector<GradedInstance>& graded, const std::string& model, std::ostream& out);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVAL_EVAL_REPORT_H_
