#include "orchestrator/backlog/issues.h"

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/terminal_text.h"
#include "base/utf8.h"
#include "orchestrator/plan/plan.h"

namespace swarm {
namespace {

using nlohmann::json;

absl::Status Bad(std::string_view source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": ", what));
}

bool EndsWith(const std::string& s, std::string_view end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// Which tracker printed the array: gh (number, body, labels as objects, url) or glab (iid,
// description, labels as strings, web_url); JSON lines use id, body, labels, url.
struct Fields {
  const char* id;
  const char* body;
  const char* url;
};
constexpr Fields kGitHub{"number", "body", "url"};
constexpr Fields kGitLab{"iid", "description", "web_url"};
constexpr Fields kLines{"id", "body", "url"};

absl::StatusOr<v1::Issue> ReadIssue(const json& j, const Fields& fields, std::string_view source,
                                    const std::string& where_at) {
  if (!j.is_object()) return Bad(source, absl::StrCat(where_at, " is not a JSON object"));
  v1::Issue issue;
  std::string where = where_at;
  if (!j.contains(fields.id)) return Bad(source, absl::StrCat(where, ": missing field \"", fields.id, "\""));
  const json& id = j[fields.id];
  if (id.is_number_unsigned()) {
    issue.set_id(std::to_string(id.get<std::uint64_t>()));
  } else if (id.is_string()) {
    issue.set_id(id.get<std::string>());
  } else {
    return Bad(source, absl::StrCat(where, ": \"", fields.id, "\" must be a string or a number of 0 or more"));
  }
  where = absl::StrCat(where_at, " (id ", TerminalSafe(issue.id()), ")");
  if (!IsSafeName(issue.id()) || issue.id()[0] == '.' || EndsWith(issue.id(), ".") || EndsWith(issue.id(), ".lock")) {
    return Bad(source, absl::StrCat(where, ": the id cannot name a branch or a file: use 1-100 letters, digits, ",
                                    "'.', '_' and '-', without \"..\", not starting or ending in \".\", not ",
                                    "ending in \".lock\""));
  }
  if (!j.contains("title")) return Bad(source, absl::StrCat(where, ": missing field \"title\""));
  if (!j["title"].is_string()) return Bad(source, absl::StrCat(where, ": \"title\" must be a string"));
  issue.set_title(j["title"].get<std::string>());
  if (issue.title().find_first_not_of(" \t\r\n") == std::string::npos) {
    return Bad(source, absl::StrCat(where, ": \"title\" is empty"));
  }
  // A tracker prints null for an issue without a body.
  if (j.contains(fields.body) && !j[fields.body].is_null()) {
    if (!j[fields.body].is_string())
      return Bad(source, absl::StrCat(where, ": \"", fields.body, "\" must be a string"));
    std::string body = j[fields.body].get<std::string>();
    if (body.size() > kMaxIssueBodyBytes) {
      body = absl::StrCat(ToUtf8(body.substr(0, kMaxIssueBodyBytes)),
                          "\n[the rest of the issue is cut: ", body.size() - kMaxIssueBodyBytes, " more bytes]");
    }
    issue.set_body(std::move(body));
  } else if (&fields == &kLines) {
    return Bad(source, absl::StrCat(where, ": missing field \"body\""));
  }
  if (j.contains("labels") && !j["labels"].is_null()) {
    if (!j["labels"].is_array()) return Bad(source, absl::StrCat(where, ": \"labels\" must be an array"));
    for (const json& label : j["labels"]) {
      if (label.is_string()) {
        issue.add_labels(label.get<std::string>());
      } else if (label.is_object() && label.contains("name") && label["name"].is_string()) {
        issue.add_labels(label["name"].get<std::string>());  // gh: {"id", "name", "description", "color"}
      } else {
        return Bad(source, absl::StrCat(where, ": each label must be a string or an object with a \"name\""));
      }
    }
  }
  if (j.contains(fields.url) && !j[fields.url].is_null()) {
    if (!j[fields.url].is_string()) return Bad(source, absl::StrCat(where, ": \"", fields.url, "\" must be a string"));
    issue.set_url(j[fields.url].get<std::string>());
  }
  return issue;
}

}  // namespace

absl::StatusOr<std::vector<v1::Issue>> ParseIssues(std::string_view text, std::string_view source) {
  std::vector<v1::Issue> issues;
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(absl::string_view(text.data(), text.size()));
  if (trimmed.empty()) return Bad(source, "no issues: the file is empty (gh issue list prints [] for none)");
  if (trimmed.front() == '[') {
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_array()) {
      return Bad(source,
                 "not a JSON array of issues (what `gh issue list --json number,title,body,labels,url` "
                 "or `glab issue list --output json` prints)");
    }
    for (std::size_t i = 0; i < doc.size(); ++i) {
      const json& j = doc[i];
      const Fields& fields = j.is_object() && j.contains("iid")      ? kGitLab
                             : j.is_object() && j.contains("number") ? kGitHub
                                                                     : kLines;
      absl::StatusOr<v1::Issue> issue = ReadIssue(j, fields, source, absl::StrCat("issue ", i + 1));
      if (!issue.ok()) return issue.status();
      issues.push_back(std::move(*issue));
    }
  } else {
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
      ++line_number;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
      const std::string where = absl::StrCat("line ", line_number);
      if (j.is_discarded()) {
        return Bad(source, absl::StrCat(where, " is not JSON (JSON lines of {\"id\", \"title\", \"body\"}, or the ",
                                        "array `gh issue list --json ...` prints)"));
      }
      absl::StatusOr<v1::Issue> issue = ReadIssue(j, kLines, source, where);
      if (!issue.ok()) return issue.status();
      issues.push_back(std::move(*issue));
    }
  }
  std::set<std::string> seen;
  for (const v1::Issue& issue : issues) {
    if (!seen.insert(issue.id()).second) {
      return Bad(source, absl::StrCat("issue id ", issue.id(), " is used twice"));
    }
  }
  return issues;
}

IssueSelection SelectIssues(const std::vector<v1::Issue>& issues, const std::string& label, int max_issues,
                            const std::function<std::string(const v1::Issue&)>& skip) {
  IssueSelection selection;
  for (const v1::Issue& issue : issues) {
    if (!label.empty() && std::find(issue.labels().begin(), issue.labels().end(), label) == issue.labels().end()) {
      continue;  // not this backlog's: not reported
    }
    if (std::string why = skip ? skip(issue) : ""; !why.empty()) {
      v1::SkippedIssue* skipped = &selection.skipped.emplace_back();
      *skipped->mutable_issue() = issue;
      skipped->set_reason(why);
      continue;
    }
    if (max_issues > 0 && static_cast<int>(selection.chosen.size()) >= max_issues) {
      v1::SkippedIssue* skipped = &selection.skipped.emplace_back();
      *skipped->mutable_issue() = issue;
      skipped->set_reason("--max-issues");
      continue;
    }
    selection.chosen.push_back(issue);
  }
  return selection;
}

}  // namespace swarm
