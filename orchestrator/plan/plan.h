// A run's plan: subtasks (a DAG by depends_on) and atomic groups. Parsed from the plan-file JSON
// format, or made by a planner; always validated before anything starts.
//
// Plan file:
//   {"subtasks": [{"id", "title", "instructions", "files"?, "depends_on"?, "group"?, "tests"?,
//                  "estimate_s"?, "lane"?, "test_first"?}],
//    "groups"?: {"NAME": {"partial": false}}}
#ifndef SWARM_ORCHESTRATOR_PLAN_PLAN_H_
#define SWARM_ORCHESTRATOR_PLAN_PLAN_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

struct GroupSpec {
  bool partial = false;              // members land one by one: a failing member holds back no other
  std::vector<std::string> members;  // subtask ids, in plan order
};

struct Plan {
  std::vector<v1::Subtask> subtasks;        // plan order
  std::map<std::string, GroupSpec> groups;  // every group a subtask names
};

// A name that may become part of a file or branch name: 1-100 of [A-Za-z0-9._-], without "..".
bool IsSafeName(const std::string& name);

// Parses the plan-file JSON. Errors name the source, the subtask and the field, e.g.
// "plan.json: subtasks[2] (id \"b\"): missing field \"title\"".
absl::StatusOr<Plan> ParsePlan(std::string_view json, std::string_view source_name);

// Checks ids (unique, [A-Za-z0-9._-]), files (relative paths inside the repository: not empty or
// absolute, no ".." or ".git" component, no control characters), lanes (IsSafeName), test_first
// (only in a lane, outside groups), dependencies
// (known, acyclic, within one lane, none between members of one group) and groups (declared ones have
// members, all in one lane). Every plan passes here,
// whether from a file, the planner model, a Control API client or the store. Then makes
// dependencies effective: depending on a group member means depending on every member of its group.
// InvalidArgument names what is wrong.
absl::Status ValidatePlan(Plan& plan, std::string_view source_name);

// The lanes the plan's subtasks name, each once, in plan order ("" not included).
std::vector<std::string> LanesOf(const Plan& plan);

// The plan as the plan-file JSON (for --dry-run and the report).
std::string PlanToJson(const Plan& plan);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_PLAN_PLAN_H_
