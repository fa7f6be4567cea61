#include "orchestrator/plan/planner.h"

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "orchestrator/plan/planner_prompt.h"  // generated from prompts/planner.txt
#include "sandbox/process.h"
#include "base/prompt_template.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;


v1::ToolSpec SubmitPlanTool() {
  const json subtask = {{"type", "object"},
                        {"properties",
                         {{"id", {{"type", "string"}}},
                          {"title", {{"type", "string"}}},
                          {"instructions", {{"type", "string"}}},
                          {"files", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                          {"tests", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                          {"depends_on", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                          {"group", {{"type", "string"}}}}},
                        {"required", {"id", "title", "instructions"}}};
  v1::ToolSpec t;
  t.set_name("submit_plan");
  t.set_description("Submit the plan: the subtasks, in order.");
  t.set_parameters_json(json({{"type", "object"},
                              {"properties", {{"subtasks", {{"type", "array"}, {"items", subtask}}}}},
                              {"required", {"subtasks"}}})
                            .dump());
  return t;
}

// The plan in a reply, validated; InvalidArgument with what is wrong, for the model to fix.
absl::StatusOr<Plan> PlanFrom(const v1::ChatReply& reply) {
  for (const v1::ToolCall& call : reply.message().tool_calls()) {
    if (call.name() != "submit_plan") continue;
    if (!call.error().empty()) return absl::InvalidArgumentError(call.error());
    absl::StatusOr<Plan> plan = ParsePlan(call.arguments_json(), "the plan");
    if (!plan.ok()) return plan.status();
    if (plan->subtasks.empty()) return absl::InvalidArgumentError("the plan has no subtasks");
    for (v1::Subtask& s : plan->subtasks) {  // lanes and test first are a backlog's, never the model's
      s.clear_lane();
      s.clear_test_first();
    }
    if (absl::Status st = ValidatePlan(*plan, "the plan"); !st.ok()) return st;
    return plan;
  }
  return absl::InvalidArgumentError("no submit_plan call: call submit_plan with the plan");
}

}  // namespace

absl::StatusOr<PlannerResult> PlanTask(ModelGateway& gateway, const PlannerInput& input, std::vector<CallRecord>* calls) {
  v1::ChatRequest request;
  auto* user = request.add_messages();
  user->set_role("user");
  user->set_content(FillTemplate(prompts::kPlanner, {{"task", input.task},
                                             {"test_command", input.test_command},
                                             {"repository_map", input.repository_map}}));
  *request.add_tools() = SubmitPlanTool();
  request.set_max_tokens(8192);  // a plan fits; the budget reserves for no more
  PlannerResult result;
  absl::Status last;
  for (int round = 0; round < 2; ++round) {
    CallRecord record;
    absl::StatusOr<v1::ChatReply> reply = gateway.CompleteAndWait(input.caller, request, &record);
    result.cost_usd += record.call.cost_usd();
    calls->push_back(std::move(record));
    if (!reply.ok()) return reply.status();
    absl::StatusOr<Plan> plan = PlanFrom(*reply);
    if (plan.ok()) {
      result.plan = std::move(*plan);
      return result;
    }
    last = plan.status();
    // Once more, with what was wrong.
    *request.add_messages() = reply->message();
    const std::string errors = absl::StrCat("The plan is not valid: ", last.message(), ". Call submit_plan again with a corrected plan.");
    if (reply->message().tool_calls_size() > 0) {
      for (const auto& call : reply->message().tool_calls()) {
        auto* m = request.add_messages();
        m->set_role("tool");
        m->set_tool_call_id(call.id());
        m->set_content(errors);
      }
    } else {
      auto* m = request.add_messages();
      m->set_role("user");
      m->set_content(errors);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("the planner's plan failed validation twice: ", last.message()));
}

std::string RepositoryMap(const Git& repo, const std::string& commit, std::size_t max_bytes) {
  // The tree at the base, not the work tree: the run starts from the base.
  char tmpl[] = "/tmp/swarm-map-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return "(no map: cannot create a temporary directory)";
  const std::string dir = tmpl;
  std::map<std::string, std::vector<std::string>> symbols;  // file -> top-level symbols
  absl::StatusOr<std::string> files = repo.Run({"ls-tree", "-r", "--name-only", "--full-tree", commit});
  if (files.ok()) {
    for (absl::string_view f : absl::StrSplit(*files, '\n', absl::SkipEmpty())) symbols[std::string(f)];
  }
  ProcessSpec archive;
  archive.argv = {"sh", "-c", absl::StrCat("git --git-dir='", repo.git_dir(), "' archive --format=tar ", commit,
                                           " | tar -x -C '", dir, "' && ctags -R --output-format=json --fields=+nKZ -f - .")};
  archive.cwd = dir;
  archive.timeout = std::chrono::seconds(60);
  archive.output_cap = 16 << 20;
  if (absl::StatusOr<ProcessResult> tags = RunProcess(archive); tags.ok() && tags->exit_code == 0) {
    for (absl::string_view line : absl::StrSplit(tags->out, '\n', absl::SkipEmpty())) {
      json tag = json::parse(line, nullptr, false);
      if (!tag.is_object() || tag.value("_type", "") != "tag" || tag.contains("scope")) continue;
      std::string path = tag.value("path", "");
      if (path.starts_with("./")) path = path.substr(2);
      symbols[path].push_back(tag.value("name", ""));
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  // Files with symbols (the code) first, then the others, each group in path order; what does not fit
  // is counted, not listed.
  std::vector<std::pair<bool, std::string>> order;
  for (const auto& [path, names] : symbols) order.push_back({names.empty(), path});
  std::sort(order.begin(), order.end());
  std::string out;
  std::size_t left_out = 0;
  for (const auto& [no_symbols, path] : order) {
    std::vector<std::string>& names = symbols[path];
    std::string line = path;
    if (!names.empty()) {
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      if (names.size() > 30) names.resize(30);
      absl::StrAppend(&line, ": ", absl::StrJoin(names, ", "));
    }
    if (out.size() + line.size() + 1 > max_bytes) {
      ++left_out;
      continue;
    }
    absl::StrAppend(&out, line, "\n");
  }
  if (left_out > 0) absl::StrAppend(&out, "(", left_out, " more files left out)\n");
  return out;
}

}  // namespace swarm
