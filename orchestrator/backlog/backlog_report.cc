#include "orchestrator/backlog/backlog_report.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/inert_text.h"
#include "base/terminal_text.h"
#include "base/utf8.h"

namespace swarm {
namespace {

using Kind = IssueOutcome::Kind;

bool Numeric(const std::string& id) { return !id.empty() && id.find_first_not_of("0123456789") == std::string::npos; }

// "#12" for a tracker's number, else the id itself.
std::string Ref(const v1::Issue& issue) { return Numeric(issue.id()) ? "#" + issue.id() : issue.id(); }

std::string OneLine(const std::string& text) {
  std::string line = absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}, {"\t", " "}});
  return line.size() > 200 ? ToUtf8(line.substr(0, 200)) + "..." : line;  // a cut never splits a character
}

std::string Xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

// A Markdown table cell: one line, no pipe.
std::string Cell(const std::string& text) { return absl::StrReplaceAll(OneLine(text), {{"|", "\\|"}}); }

absl::Status WriteWhole(const std::string& path, const std::string& content) {
  const std::string temporary = absl::StrCat(path, ".swarm-", getpid(), ".tmp");
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out || rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::error_code ec;
    std::filesystem::remove(temporary, ec);
    return absl::ResourceExhaustedError(absl::StrCat("cannot write ", path, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

std::string Why(const IssueOutcome& o) {
  std::string why = o.reason;
  // The detail often starts with the reason itself ("no failing test: ..."): said once.
  std::string detail = o.detail;
  if (detail.rfind(o.reason + ": ", 0) == 0) detail = detail.substr(o.reason.size() + 2);
  if (!detail.empty() && detail != o.reason) absl::StrAppend(&why, ": ", OneLine(detail));
  return why;
}

std::string JsonReport(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx) {
  nlohmann::json issues = nlohmann::json::array();
  int counts[4] = {};
  for (const IssueOutcome& o : outcomes) {
    ++counts[static_cast<int>(o.kind)];
    nlohmann::json j = {{"id", o.issue.id()},
                        {"title", o.issue.title()},
                        {"url", o.issue.url()},
                        {"outcome", KindName(o.kind)},
                        {"reason", o.reason},
                        {"detail", o.detail},
                        {"branch", o.branch},
                        {"head", o.head},
                        {"subtasks", o.subtasks},
                        {"files", o.files},
                        {"tests", {{"command", ctx.test_command}, {"fixed", o.fixed_tests}}},
                        {"overlaps", o.overlaps},
                        {"attempts", o.attempts},
                        {"steps", o.model_calls},
                        {"tokens", o.tokens},
                        {"cost_usd", o.cost_usd},
                        {"wall_s", o.wall_s},
                        {"log", o.log_path}};
    if (o.kind == Kind::kResolved) j["pr_body"] = PullRequestPath(ctx.out_dir, o.issue.id());
    if (!o.on_resolved_error.empty()) j["on_resolved_error"] = o.on_resolved_error;
    issues.push_back(std::move(j));
  }
  nlohmann::json doc = {{"run_id", ctx.run_id},
                        {"issues_file", ctx.issues_file},
                        {"exit_code", ctx.exit_code},
                        {"resolved", counts[static_cast<int>(Kind::kResolved)]},
                        {"unresolved", counts[static_cast<int>(Kind::kUnresolved)]},
                        {"failed", counts[static_cast<int>(Kind::kFailed)]},
                        {"skipped", counts[static_cast<int>(Kind::kSkipped)]},
                        {"issues", std::move(issues)}};
  if (!ctx.run_report.empty()) {
    nlohmann::json run = nlohmann::json::parse(ctx.run_report, nullptr, /*allow_exceptions=*/false);
    if (!run.is_discarded() && run.is_object() && !run.contains("issues")) doc["run"] = std::move(run);
  }
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string JUnit(const std::vector<IssueOutcome>& outcomes) {
  int failures = 0, errors = 0, skipped = 0;
  double total = 0;
  std::string cases;
  for (const IssueOutcome& o : outcomes) {
    total += o.wall_s;
    absl::StrAppend(&cases, "    <testcase classname=\"swarm.backlog\" name=\"",
                    Xml(Ref(o.issue) + " " + OneLine(o.issue.title())), "\" time=\"", absl::StrFormat("%.3f", o.wall_s),
                    "\">\n");
    switch (o.kind) {
      case Kind::kResolved:
        if (!o.on_resolved_error.empty()) {
          ++errors;
          absl::StrAppend(&cases, "      <error message=\"--on-resolved failed\">", Xml(o.on_resolved_error),
                          "</error>\n");
        }
        break;
      case Kind::kUnresolved:
        ++failures;
        absl::StrAppend(&cases, "      <failure message=\"", Xml(o.reason), "\">", Xml(Why(o)), "</failure>\n");
        break;
      case Kind::kFailed:
        ++errors;
        absl::StrAppend(&cases, "      <error message=\"", Xml(o.reason), "\">", Xml(Why(o)), "</error>\n");
        break;
      case Kind::kSkipped:
        ++skipped;
        absl::StrAppend(&cases, "      <skipped message=\"", Xml(o.reason), "\"/>\n");
        break;
    }
    absl::StrAppend(&cases, "    </testcase>\n");
  }
  return absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"swarm backlog\" tests=\"",
      outcomes.size(), "\" failures=\"", failures, "\" errors=\"", errors, "\" skipped=\"", skipped, "\" time=\"",
      absl::StrFormat("%.3f", total), "\">\n", cases, "  </testsuite>\n</testsuites>\n");
}

std::string Markdown(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx) {
  int counts[4] = {};
  double cost = 0;
  for (const IssueOutcome& o : outcomes) {
    ++counts[static_cast<int>(o.kind)];
    cost += o.cost_usd;
  }
  std::string md = absl::StrCat("## swarm backlog", ctx.run_id.empty() ? "" : " " + ctx.run_id, "\n\n", counts[0],
                                " resolved, ", counts[1], " unresolved, ", counts[2], " failed, ", counts[3],
                                " skipped", cost > 0 ? absl::StrFormat("; model cost $%.4f", cost) : "", "\n\n",
                                "| Issue | Outcome | Reason | Branch | Cost |\n|---|---|---|---|---|\n");
  // At most 1,000 rows (a title is cut at 200 bytes): with the pairs below, it fits the 1 MiB a
  // GitHub job summary takes.
  constexpr std::size_t kRows = 1000;
  for (std::size_t row = 0; row < outcomes.size(); ++row) {
    const IssueOutcome& o = outcomes[row];
    if (row == kRows) {
      absl::StrAppend(&md, "| and ", outcomes.size() - kRows, " more issues (report.json lists them) | | | | |\n");
      break;
    }
    const std::string issue = o.issue.url().empty() ? Cell(Ref(o.issue) + " " + o.issue.title())
                                                    : absl::StrCat("[", Cell(Ref(o.issue)), "](", Cell(o.issue.url()),
                                                                   ") ", Cell(o.issue.title()));
    std::string reason = o.kind == Kind::kResolved ? "" : Cell(Why(o));
    if (!o.on_resolved_error.empty()) reason = Cell("--on-resolved failed: " + o.on_resolved_error);
    absl::StrAppend(&md, "| ", issue, " | ", KindName(o.kind), " | ", reason, " | ",
                    o.branch.empty() ? "" : "`" + Cell(o.branch) + "`", " | ", absl::StrFormat("$%.4f", o.cost_usd),
                    " |\n");
  }
  // Each pair once, and at most 50 lines: the summary must fit a CI page ($GITHUB_STEP_SUMMARY: 1 MiB).
  int lines = 0, more = 0;
  for (const IssueOutcome& o : outcomes) {
    std::vector<std::string> later;
    for (const std::string& other : o.overlaps) {
      if (other > o.issue.id()) later.push_back(other);
    }
    if (later.empty()) continue;
    if (lines == 0)
      absl::StrAppend(&md, "\nResolved issues that change the same files (their pull requests will conflict):\n\n");
    if (++lines > 50) {
      ++more;
      continue;
    }
    std::vector<std::string> refs;
    for (const std::string& id : later) refs.push_back(Numeric(id) ? "#" + id : id);
    absl::StrAppend(&md, "- ", Cell(Ref(o.issue)), " and ", Cell(absl::StrJoin(refs, ", ")), "\n");
  }
  if (more > 0) absl::StrAppend(&md, "- and ", more, " more (report.json lists them)\n");
  return md;
}

}  // namespace

std::string PullRequestPath(const std::string& out_dir, const std::string& issue_id) {
  return absl::StrCat(out_dir, "/pr/", issue_id, ".md");
}

std::string PullRequestBody(const IssueOutcome& o, const std::string& test_command) {
  std::string body = absl::StrCat("Fix ", Ref(o.issue), ": ", OneLine(o.issue.title()), "\n\n");
  if (o.summaries.empty()) {
    absl::StrAppend(&body, "The agents gave no account of their change; see the diff.\n");
  } else {
    // What agents wrote may echo an issue's text: it may close or ping nobody.
    for (const std::string& summary : o.summaries) absl::StrAppend(&body, Inert(summary), "\n\n");
  }
  absl::StrAppend(&body, "\nChanged: ", o.files.empty() ? "nothing" : absl::StrJoin(o.files, ", "), "\n");
  if (!test_command.empty()) absl::StrAppend(&body, "\nTests: `", OneLine(test_command), "` passes on this branch.\n");
  if (!o.fixed_tests.empty()) {
    absl::StrAppend(&body, "Now passing (failed before this change): ", absl::StrJoin(o.fixed_tests, ", "), "\n");
  }
  absl::StrAppend(
      &body, absl::StrFormat("\nMade by swarm: %d attempt%s, %d model calls, %d tokens, $%.4f, %.0f s.\n", o.attempts,
                             o.attempts == 1 ? "" : "s", o.model_calls, o.tokens, o.cost_usd, o.wall_s));
  absl::StrAppend(&body, "\nCloses ", Numeric(o.issue.id()) || o.issue.url().empty() ? Ref(o.issue) : o.issue.url(),
                  "\n");
  return body;
}

absl::Status WritePullRequests(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(ctx.out_dir + "/pr", ec);
  if (ec) return absl::ResourceExhaustedError(absl::StrCat("cannot make ", ctx.out_dir, "/pr: ", ec.message()));
  for (const IssueOutcome& o : outcomes) {
    if (o.kind != Kind::kResolved) continue;
    if (absl::Status st = WriteWhole(PullRequestPath(ctx.out_dir, o.issue.id()), PullRequestBody(o, ctx.test_command));
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status WriteBacklogReport(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(ctx.out_dir, ec);
  if (ec) return absl::ResourceExhaustedError(absl::StrCat("cannot make ", ctx.out_dir, ": ", ec.message()));
  if (absl::Status st = WriteWhole(ctx.out_dir + "/report.json", JsonReport(outcomes, ctx)); !st.ok()) return st;
  if (absl::Status st = WriteWhole(ctx.out_dir + "/junit.xml", JUnit(outcomes)); !st.ok()) return st;
  return WriteWhole(ctx.out_dir + "/summary.md", Markdown(outcomes, ctx));
}

void PrintBacklogSummary(const std::vector<IssueOutcome>& outcomes, const BacklogReportContext& ctx,
                         std::ostream& out) {
  for (const IssueOutcome& o : outcomes) {
    out << "  " << TerminalSafe(Ref(o.issue)) << "  " << KindName(o.kind);
    if (o.kind == Kind::kResolved) {
      out << "  " << TerminalSafe(o.branch);
    } else {
      out << " (" << TerminalSafe(Why(o)) << ")";
    }
    if (!o.on_resolved_error.empty()) out << "; --on-resolved failed: " << TerminalSafe(o.on_resolved_error);
    out << "  " << TerminalSafe(OneLine(o.issue.title())) << "\n";
  }
  out << "swarm: backlog report in " << TerminalSafe(ctx.out_dir) << " (report.json, junit.xml, summary.md, pr/)\n";
}

}  // namespace swarm
