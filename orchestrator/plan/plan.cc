#include "orchestrator/plan/plan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "git/patch_entries.h"
#include "base/terminal_text.h"
#include "base/utf8.h"

namespace swarm {
namespace {

using nlohmann::json;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return id != "." && id != "..";
}

absl::Status Bad(std::string_view source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": ", what));
}

absl::StatusOr<std::vector<std::string>> StringArray(const json& j, const std::string& where,
                                                     const char* field) {
  std::vector<std::string> out;
  if (!j.is_array()) return absl::InvalidArgumentError(absl::StrCat(where, ": \"", field, "\" must be an array of strings"));
  for (const auto& e : j) {
    if (!e.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": \"", field, "\" must be an array of strings"));
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Why `path` is not a file path inside the repository, or empty when it is one. Plans come from
// users, models and remote clients; agents and the scheduler read these paths.
std::string WhyNotARepositoryPath(const std::string& path) {
  if (path.empty()) return "it is empty";
  if (path.size() > 4096) return "it is longer than 4096 bytes";
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return "it holds a control character";
  }
  if (!IsUtf8(path)) return "it is not UTF-8";
  if (path[0] == '/') return "it is absolute: give it relative to the repository's root";
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return "it climbs out with \"..\"";
    if (HasGitComponent(part)) return "it names .git, git's own directory";
  }
  return "";
}

}  // namespace

bool IsSafeName(const std::string& name) { return ValidId(name) && name.find("..") == std::string::npos; }

absl::StatusOr<Plan> ParsePlan(std::string_view text, std::string_view source) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again with exceptions for the position of the error.
    try {
      [[maybe_unused]] json reparsed = json::parse(text);
    } catch (const json::exception& e) {  // a parse error, or a number too large (out_of_range 406)
      return Bad(source, absl::StrCat("not valid JSON (", e.what(), ")"));
    }
    return Bad(source, "not valid JSON");
  }
  if (!doc.is_object()) return Bad(source, "the plan must be a JSON object with \"subtasks\"");
  for (const auto& [key, value] : doc.items()) {
    if (key != "subtasks" && key != "groups") return Bad(source, absl::StrCat("unknown field \"", key, "\""));
  }
  if (!doc.contains("subtasks")) return Bad(source, "missing field \"subtasks\"");
  const json& list = doc["subtasks"];
  if (!list.is_array()) return Bad(source, "\"subtasks\" must be an array");
  if (list.empty()) return Bad(source, "\"subtasks\" is empty: nothing to do");

  Plan plan;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& s = list[i];
    std::string where = absl::StrCat("subtasks[", i, "]");
    if (!s.is_object()) return Bad(source, absl::StrCat(where, " must be an object"));
    if (s.contains("id") && s["id"].is_string()) where += absl::StrCat(" (id \"", s["id"].get<std::string>(), "\")");
    v1::Subtask sub;
    for (const char* field : {"id", "title", "instructions"}) {
      if (!s.contains(field)) return Bad(source, absl::StrCat(where, ": missing field \"", field, "\""));
      if (!s[field].is_string()) return Bad(source, absl::StrCat(where, ": \"", field, "\" must be a string"));
    }
    for (const auto& [key, value] : s.items()) {
      static const std::set<std::string> kKnown = {"id",    "title", "instructions", "files", "depends_on",
                                                   "group", "tests", "estimate_s",   "lane",  "test_first"};
      if (!kKnown.count(key)) return Bad(source, absl::StrCat(where, ": unknown field \"", key, "\""));
    }
    sub.set_id(s["id"].get<std::string>());
    sub.set_title(s["title"].get<std::string>());
    sub.set_instructions(s["instructions"].get<std::string>());
    if (sub.title().empty()) return Bad(source, absl::StrCat(where, ": \"title\" is empty"));
    for (const char* field : {"files", "depends_on", "tests"}) {
      if (!s.contains(field)) continue;
      absl::StatusOr<std::vector<std::string>> values = StringArray(s[field], where, field);
      if (!values.ok()) return Bad(source, std::string(values.status().message()));
      for (auto& v : *values) {
        if (std::string(field) == "files") sub.add_files(v);
        if (std::string(field) == "depends_on") sub.add_depends_on(v);
        if (std::string(field) == "tests") sub.add_tests(v);
      }
    }
    if (s.contains("group")) {
      if (!s["group"].is_string() || s["group"].get<std::string>().empty()) {
        return Bad(source, absl::StrCat(where, ": \"group\" must be a non-empty string"));
      }
      sub.set_group(s["group"].get<std::string>());
    }
    if (s.contains("lane")) {
      if (!s["lane"].is_string()) return Bad(source, absl::StrCat(where, ": \"lane\" must be a string"));
      sub.set_lane(s["lane"].get<std::string>());
    }
    if (s.contains("test_first")) {
      if (!s["test_first"].is_boolean())
        return Bad(source, absl::StrCat(where, ": \"test_first\" must be true or false"));
      sub.set_test_first(s["test_first"].get<bool>());
    }
    if (s.contains("estimate_s")) {
      const json& e = s["estimate_s"];
      if (!e.is_number() || !(e.get<double>() >= 0) || !std::isfinite(e.get<double>())) {
        return Bad(source, absl::StrCat(where, ": \"estimate_s\" must be a number of seconds, 0 or more"));
      }
      sub.set_estimate_s(e.get<double>());
    }
    plan.subtasks.push_back(std::move(sub));
  }
  if (doc.contains("groups")) {
    const json& groups = doc["groups"];
    if (!groups.is_object()) return Bad(source, "\"groups\" must be an object of NAME: {\"partial\": bool}");
    for (const auto& [name, spec] : groups.items()) {
      std::string where = absl::StrCat("groups.", name);
      if (!spec.is_object()) return Bad(source, absl::StrCat(where, " must be an object"));
      GroupSpec g;
      for (const auto& [key, value] : spec.items()) {
        if (key != "partial") return Bad(source, absl::StrCat(where, ": unknown field \"", key, "\""));
        if (!value.is_boolean()) return Bad(source, absl::StrCat(where, ": \"partial\" must be true or false"));
        g.partial = value.get<bool>();
      }
      plan.groups[name] = g;
    }
  }
  return plan;
}

absl::Status ValidatePlan(Plan& plan, std::string_view source) {
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < plan.subtasks.size(); ++i) {
    auto& s = plan.subtasks[i];
    if (!ValidId(s.id())) {
      return Bad(source, absl::StrCat("subtask id \"", s.id(),
                                      "\" is not valid (use letters, digits, '.', '_' and '-')"));
    }
    if (!index.emplace(s.id(), static_cast<int>(i)).second) {
      return Bad(source, absl::StrCat("subtask id \"", s.id(), "\" is used twice"));
    }
    if (!s.lane().empty() && !IsSafeName(s.lane())) {
      return Bad(source, absl::StrCat("subtask \"", s.id(), "\": lane \"", TerminalSafe(s.lane()),
                                      "\" is not valid (use letters, digits, '.', '_' and '-', without \"..\")"));
    }
    // Test first judges one patch alone: a group's members land as one change.
    if (s.test_first() && (s.lane().empty() || !s.group().empty())) {
      return Bad(source, absl::StrCat("subtask \"", s.id(), "\": test_first needs a lane and no group"));
    }
    for (std::string& file : *s.mutable_files()) {
      // One spelling per file ("./a.c", "a//b.c" and "a/./b.c" are a.c, a/b.c, a/b.c), so that the
      // scheduler, which keeps subtasks touching one file apart, compares like with like.
      if (!file.empty() && file[0] != '/') {
        std::vector<absl::string_view> parts;
        for (absl::string_view part : absl::StrSplit(file, '/')) {
          if (!part.empty() && part != ".") parts.push_back(part);
        }
        file = absl::StrJoin(parts, "/");
      }
      if (std::string why = WhyNotARepositoryPath(file); !why.empty()) {
        return Bad(source, absl::StrCat("subtask \"", s.id(), "\": file \"", TerminalSafe(file),
                                        "\" is not a path inside the repository: ", why));
      }
    }
  }
  // Groups: every declared one has members; every named one exists in the map.
  for (auto& [name, g] : plan.groups) g.members.clear();
  for (const auto& s : plan.subtasks) {
    if (!s.group().empty()) plan.groups[s.group()].members.push_back(s.id());
  }
  std::map<std::string, std::string> group_lane;
  for (const auto& s : plan.subtasks) {
    if (s.group().empty()) continue;
    auto [it, first] = group_lane.emplace(s.group(), s.lane());
    if (!first && it->second != s.lane()) {
      return Bad(source, absl::StrCat("group \"", s.group(), "\" has members in two lanes"));
    }
  }
  for (const auto& [name, g] : plan.groups) {
    if (g.members.empty()) return Bad(source, absl::StrCat("group \"", name, "\" has no member subtasks"));
  }
  for (const auto& s : plan.subtasks) {
    std::set<std::string> seen;
    for (const auto& d : s.depends_on()) {
      if (!index.count(d)) {
        return Bad(source, absl::StrCat("subtask \"", s.id(), "\" depends on unknown subtask \"", d, "\""));
      }
      if (d == s.id()) return Bad(source, absl::StrCat("subtask \"", s.id(), "\" depends on itself"));
      if (!seen.insert(d).second) {
        return Bad(source, absl::StrCat("subtask \"", s.id(), "\" lists dependency \"", d, "\" twice"));
      }
      const auto& dep = plan.subtasks[index[d]];
      if (dep.lane() != s.lane()) {
        return Bad(source, absl::StrCat("subtask \"", s.id(), "\" depends on \"", d,
                                        "\" of another lane: lanes land on separate branches"));
      }
      if (!s.group().empty() && dep.group() == s.group()) {
        return Bad(source, absl::StrCat("subtask \"", s.id(), "\" depends on \"", d, "\" in its own group \"",
                                        s.group(), "\": members of a group land together"));
      }
    }
  }
  // Effective dependencies: a dependency on a member is a dependency on its whole group.
  for (auto& s : plan.subtasks) {
    std::vector<std::string> effective;
    std::set<std::string> added;
    for (const auto& d : s.depends_on()) {
      const auto& dep = plan.subtasks[index[d]];
      std::vector<std::string> targets = {d};
      if (!dep.group().empty()) targets = plan.groups[dep.group()].members;
      for (const auto& t : targets) {
        if (added.insert(t).second) effective.push_back(t);
      }
    }
    s.clear_depends_on();
    for (const auto& e : effective) s.add_depends_on(e);
  }
  // A group lands as one: for cycles, a group behaves as a single node.
  auto node = [&](const v1::Subtask& s) { return s.group().empty() ? "subtask " + s.id() : "group " + s.group(); };
  std::map<std::string, std::set<std::string>> edges;
  for (const auto& s : plan.subtasks) {
    edges[node(s)];
    for (const auto& d : s.depends_on()) edges[node(s)].insert(node(plan.subtasks[index[d]]));
  }
  std::map<std::string, int> color;  // 0 white, 1 on the stack, 2 done
  std::vector<std::string> stack;
  std::function<absl::Status(const std::string&)> visit = [&](const std::string& n) -> absl::Status {
    color[n] = 1;
    stack.push_back(n);
    for (const auto& m : edges[n]) {
      if (m == n) continue;
      if (color[m] == 1) {
        auto from = std::find(stack.begin(), stack.end(), m);
        std::vector<std::string> cycle(from, stack.end());
        cycle.push_back(m);
        return Bad(source, absl::StrCat("dependency cycle: ", absl::StrJoin(cycle, " -> ")));
      }
      if (color[m] == 0) {
        if (absl::Status st = visit(m); !st.ok()) return st;
      }
    }
    stack.pop_back();
    color[n] = 2;
    return absl::OkStatus();
  };
  for (const auto& [n, unused] : edges) {
    if (color[n] == 0) {
      if (absl::Status st = visit(n); !st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> LanesOf(const Plan& plan) {
  std::vector<std::string> lanes;
  std::set<std::string> seen;
  for (const auto& s : plan.subtasks) {
    if (!s.lane().empty() && seen.insert(s.lane()).second) lanes.push_back(s.lane());
  }
  return lanes;
}

std::string PlanToJson(const Plan& plan) {
  json doc;
  doc["subtasks"] = json::array();
  for (const auto& s : plan.subtasks) {
    json j = {{"id", s.id()}, {"title", s.title()}, {"instructions", s.instructions()}};
    if (s.files_size() > 0) j["files"] = std::vector<std::string>(s.files().begin(), s.files().end());
    if (s.depends_on_size() > 0) {
      j["depends_on"] = std::vector<std::string>(s.depends_on().begin(), s.depends_on().end());
    }
    if (!s.group().empty()) j["group"] = s.group();
    if (s.tests_size() > 0) j["tests"] = std::vector<std::string>(s.tests().begin(), s.tests().end());
    if (s.estimate_s() > 0) j["estimate_s"] = s.estimate_s();
    if (!s.lane().empty()) j["lane"] = s.lane();
    if (s.test_first()) j["test_first"] = true;
    doc["subtasks"].push_back(j);
  }
  if (!plan.groups.empty()) {
    doc["groups"] = json::object();
    for (const auto& [name, g] : plan.groups) doc["groups"][name] = {{"partial", g.partial}};
  }
  return doc.dump(2);
}

}  // namespace swarm
