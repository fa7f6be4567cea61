#include "tools/tool_set.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/str_cat.h"
#include "tools/file_tools.h"

namespace swarm {
namespace {

using nlohmann::json;

v1::ToolSpec Spec(const char* name, const char* description, json properties, std::vector<std::string> required) {
  v1::ToolSpec s;
  s.set_name(name);
  s.set_description(description);
  s.set_parameters_json(json({{"type", "object"}, {"properties", std::move(properties)}, {"required", required},
                              {"additionalProperties", false}})
                            .dump());
  return s;
}

const json kString = {{"type", "string"}};
const json kLine = {{"type", "integer"}, {"minimum", 1}};

// The arguments, checked against the tool's schema: required names present, types right, no others.
absl::StatusOr<json> Arguments(const v1::ToolCall& call, const v1::ToolSpec& spec) {
  if (!call.error().empty()) return absl::InvalidArgumentError(call.error());
  json args = json::parse(call.arguments_json().empty() ? std::string("{}") : call.arguments_json(), nullptr, false);
  if (args.is_discarded() || !args.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("the arguments of ", call.name(), " must be a JSON object"));
  }
  const json schema = json::parse(spec.parameters_json());
  for (const auto& name : schema["required"]) {
    if (!args.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(call.name(), " needs the argument ", name.get<std::string>()));
    }
  }
  for (const auto& [name, value] : args.items()) {
    auto p = schema["properties"].find(name);
    if (p == schema["properties"].end()) {
      return absl::InvalidArgumentError(absl::StrCat(call.name(), " has no argument ", name));
    }
    const std::string type = (*p)["type"];
    const bool ok = type == "string" ? value.is_string() : (value.is_number_integer() && value.get<long long>() >= 1);
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("the argument ", name, " of ", call.name(), " must be ",
                                                     type == "string" ? "a string" : "a positive integer"));
    }
  }
  return args;
}

ToolOutcome From(absl::StatusOr<std::string> result) {
  ToolOutcome o;
  if (result.ok()) {
    o.observation = std::move(*result);
  } else {
    o.failed = true;
    o.observation = absl::StrCat("error: ", result.status().message());
  }
  return o;
}

}  // namespace

ToolSet::ToolSet(std::string root, Runner runner, std::chrono::steady_clock::time_point deadline)
    : root_(std::move(root)), runner_(std::move(runner)), deadline_(deadline) {
  specs_ = {
      Spec("list_dir", "List a directory of the repository (paths are relative to its root).", {{"path", kString}},
           {"path"}),
      Spec("read_file", "Read a file, or lines start_line..end_line of it, with line numbers.",
           {{"path", kString}, {"start_line", kLine}, {"end_line", kLine}}, {"path"}),
      Spec("search",
           "Find lines matching a regular expression (RE2 syntax: ECMAScript's without backreferences or "
           "lookaround), in the repository or under path.",
           {{"pattern", kString}, {"path", kString}}, {"pattern"}),
      Spec("edit", "Replace the text old by new in a file; old must occur exactly once, character for character.",
           {{"path", kString}, {"old", kString}, {"new", kString}}, {"path", "old", "new"}),
      Spec("create_file", "Create a new file with this content.", {{"path", kString}, {"content", kString}},
           {"path", "content"}),
      Spec("run", "Run a shell command in the repository, in a sandbox without network; shows its output.",
           {{"command", kString}}, {"command"}),
      Spec("run_tests", "Run the repository's tests on a copy of your changes; shows which tests fail.", json::object(),
           {}),
      Spec("submit",
           "Finish: your changes are submitted as the patch for this subtask; the summary becomes the body of its "
           "commit message.",
           {{"summary", kString}}, {"summary"}),
  };
}

ToolOutcome ToolSet::Call(const v1::ToolCall& call) const {
  const v1::ToolSpec* spec = nullptr;
  for (const auto& s : specs_) {
    if (s.name() == call.name()) spec = &s;
  }
  ToolOutcome bad;
  bad.format_error = true;
  if (spec == nullptr) {
    std::string names;
    for (const auto& s : specs_) absl::StrAppend(&names, names.empty() ? "" : ", ", s.name());
    bad.observation = absl::StrCat("error: there is no tool ", call.name(), "; the tools are ", names);
    return bad;
  }
  absl::StatusOr<json> args = Arguments(call, *spec);
  if (!args.ok()) {
    bad.observation = absl::StrCat("error: ", args.status().message());
    return bad;
  }
  const json& a = *args;
  auto str = [&](const char* name) { return a.contains(name) ? a[name].get<std::string>() : std::string(); };
  auto line = [&](const char* name) -> std::optional<int> {
    if (!a.contains(name)) return std::nullopt;
    return static_cast<int>(std::min<long long>(a[name].get<long long>(), 1 << 30));
  };
  const std::string& name = call.name();
  if (name == "list_dir") return From(ListDir(root_, str("path")));
  if (name == "read_file") return From(ReadFile(root_, str("path"), line("start_line"), line("end_line")));
  if (name == "search") {
    SearchLimits limits;
    // One call may not hold a pool thread for the rest of the attempt: a search is a look, not a job.
    const auto call_deadline = std::chrono::steady_clock::now() + kMaxSearchTime;
    limits.deadline = std::min(deadline_, call_deadline);
    if (call_deadline < deadline_) limits.deadline_reason = "one search runs for at most 10 s: narrow its path";
    return From(Search(root_, str("pattern"), a.contains("path") ? str("path") : ".", limits));
  }
  if (name == "edit") return From(Edit(root_, str("path"), str("old"), str("new")));
  if (name == "create_file") return From(CreateFile(root_, str("path"), str("content")));
  // The runner bounds its output itself, keeping the end (where failures are reported).
  if (name == "run") return From(runner_.run ? runner_.run(str("command"))
                                             : absl::StatusOr<std::string>(absl::UnavailableError("run is not available")));
  if (name == "run_tests") {
    return From(runner_.run_tests ? runner_.run_tests()
                                  : absl::StatusOr<std::string>(absl::UnavailableError("run_tests is not available")));
  }
  ToolOutcome done;  // submit
  done.submitted = true;
  done.summary = str("summary");
  done.observation = "submitted";
  return done;
}

}  // namespace swarm
