#include "orchestrator/test_results.h"

#include <cstring>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace swarm {
namespace {

void Record(TestResults& r, const std::string& name, bool passed) {
  if (name.empty()) return;
  r.ran = true;
  // A test reported twice (a summary repeats failures) keeps its worst result.
  auto [it, inserted] = r.tests.emplace(name, passed);
  if (!inserted) it->second = it->second && passed;
}

std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (auto& l : lines) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  }
  return lines;
}

// "[       OK ] Suite.Name (3 ms)" and "[  FAILED  ] Suite.Name (3 ms)"; a parameterised name is cut
// at ", where GetParam() = ...". The summary's "[  FAILED  ] 2 tests, listed below:" is not a test.
TestResults ParseGtest(absl::string_view output) {
  TestResults r;
  std::string running;  // a test started and not finished: if the output ends there, it crashed
  for (absl::string_view line : Lines(output)) {
    if (absl::StartsWith(line, "[ RUN      ] ")) {
      if (!running.empty()) Record(r, running, false);
      running = std::string(line.substr(13));
      continue;
    }
    bool ok = absl::StartsWith(line, "[       OK ] ");
    bool failed = absl::StartsWith(line, "[  FAILED  ] ");
    if (!ok && !failed) continue;
    absl::string_view rest = line.substr(13);
    absl::string_view name = rest.substr(0, rest.find_first_of(" ,"));
    if (name.find('.') == absl::string_view::npos) continue;
    Record(r, std::string(name), ok);
    if (running == name) running.clear();
  }
  if (!running.empty()) Record(r, running, false);
  return r;
}

// "  3/10 Test  #3: name ..........   Passed    0.01 sec", "***Failed", "***Timeout", "***Exception",
// "Not Run" (a missing executable: a failure), "Skipped"/"Disabled" (not listed).
TestResults ParseCtest(absl::string_view output) {
  static const std::regex kLine(R"(^\s*\d+/\d+ Test\s+#\d+: (\S+) \.*\s*(\**)(\w+))");
  TestResults r;
  for (absl::string_view line : Lines(output)) {
    std::cmatch m;
    if (!std::regex_search(line.begin(), line.end(), m, kLine)) continue;
    std::string status = m[3].str();
    if (status == "Skipped" || status == "Disabled" || absl::StrContains(line, "(Disabled)")) continue;
    Record(r, m[1].str(), status == "Passed");
  }
  return r;
}

// -rA summary lines ("PASSED node", "FAILED node - message", "ERROR node - ...") and -v lines
// ("node PASSED [ 50%]"). XFAIL counts as a pass (expected), XPASS as a failure under strict xfail
// only, which the summary reports as FAILED anyway.
TestResults ParsePytest(absl::string_view output) {
  static const std::set<std::string> kPass = {"PASSED", "XFAIL", "XPASS"};
  static const std::set<std::string> kFail = {"FAILED", "ERROR"};
  TestResults r;
  for (absl::string_view line : Lines(output)) {
    absl::string_view t = absl::StripAsciiWhitespace(line);
    // xdist prefixes: "[gw0] [ 50%] PASSED node"
    if (absl::StartsWith(t, "[gw")) t = absl::StripLeadingAsciiWhitespace(t.substr(std::min(t.size(), t.find(']') + 1)));
    if (absl::StartsWith(t, "[") && t.find("%]") != absl::string_view::npos) {
      t = absl::StripLeadingAsciiWhitespace(t.substr(t.find("%]") + 2));
    }
    // -rA: "STATUS node id[with spaces] - message"
    auto space = t.find(' ');
    std::string first(t.substr(0, space));
    if ((kPass.count(first) || kFail.count(first)) && space != absl::string_view::npos) {
      absl::string_view rest = t.substr(space + 1);
      rest = rest.substr(0, rest.find(" - "));
      if (rest.find("::") != absl::string_view::npos) Record(r, std::string(rest), kPass.count(first) > 0);
      continue;
    }
    // -v: "node id STATUS [ 50%]"
    for (const auto* set : {&kPass, &kFail}) {
      for (const auto& status : *set) {
        auto at = t.rfind(" " + status);
        if (at == absl::string_view::npos || t.find("::") == absl::string_view::npos || t.find("::") > at) continue;
        absl::string_view after = absl::StripAsciiWhitespace(t.substr(at + 1 + status.size()));
        if (!after.empty() && after[0] != '[') continue;
        Record(r, std::string(t.substr(0, at)), set == &kPass);
      }
    }
  }
  return r;
}

// "test_x (module.Class.test_x) ... ok" (Python 3.11+) or "test_x (module.Class) ... ok" (older);
// "... FAIL", "... ERROR", "... unexpected success" fail; "... skipped 'why'" is not listed; "... expected
// failure" passes. A docstring puts the status on the next line: "test_x (module.Class.test_x)\nDoc ... ok".
TestResults ParseUnittest(absl::string_view output) {
  static const std::regex kHead(R"(^\s*(\w+) \(([\w.]+)\))");
  static const std::set<std::string> kPass = {"ok", "expected failure"};
  static const std::set<std::string> kFail = {"FAIL", "ERROR", "unexpected success"};
  TestResults r;
  std::string pending;  // a test whose status has not come yet (a docstring, stderr in between, subtests)
  auto status_of = [](absl::string_view text) {
    std::string s(absl::StripAsciiWhitespace(text));
    return s;
  };
  for (absl::string_view line : Lines(output)) {
    std::cmatch m;
    std::string name;
    if (std::regex_search(line.begin(), line.end(), m, kHead)) {
      std::string method = m[1].str(), where = m[2].str();
      name = absl::EndsWith(where, "." + method) ? where : where + "." + method;
      bool subtest = !line.empty() && (line[0] == ' ' || line[0] == '\t');
      if (!subtest) {
        if (!pending.empty() && pending != name) Record(r, pending, false);  // never finished
        pending = name;
      }
    }
    std::string status;
    if (auto dots = line.rfind(" ... "); dots != absl::string_view::npos) {
      status = status_of(line.substr(dots + 5));
    } else if (absl::EndsWith(line, " ...")) {
      status = "";
    } else {
      status = status_of(line);  // a bare status line after the test's own output
    }
    if (name.empty()) name = pending;
    if (name.empty()) continue;
    if (absl::StartsWith(status, "skipped")) {
      if (name == pending) pending.clear();
      continue;
    }
    if (kPass.count(status) || kFail.count(status)) {
      Record(r, name, kPass.count(status) > 0);
      if (name == pending && (line.empty() || (line[0] != ' ' && line[0] != '\t'))) pending.clear();
    }
  }
  // "Ran N tests" means the runner finished; a test still pending there had a failing subtest or died.
  if (!pending.empty() && !r.tests.count(pending)) Record(r, pending, false);
  return r;
}

// "ok 1 - name", "not ok 2 - name # TODO why" (a TODO failure is not a failure), "# SKIP" (not listed),
// "1..N" (the plan: evidence that the suite ran), "Bail out!" (a failure of the whole run).
TestResults ParseTap(absl::string_view output) {
  static const std::regex kLine(R"(^(not ok|ok)\b\s*(\d*)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(\w+).*)?$)");
  static const std::regex kPlan(R"(^1\.\.(\d+).*)");
  TestResults r;
  long planned = -1, seen = 0;
  bool in_yaml = false;
  for (absl::string_view line : Lines(output)) {
    // Subtests are indented; only the top level counts (a subtest's result is its parent's too).
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      absl::string_view t = absl::StripLeadingAsciiWhitespace(line);
      if (t == "---") in_yaml = true;
      if (t == "...") in_yaml = false;
      continue;
    }
    if (in_yaml) continue;
    absl::string_view t = line;
    std::cmatch plan;
    if (std::regex_match(t.begin(), t.end(), plan, kPlan)) {
      r.ran = true;
      planned = std::stol(plan[1].str());
      continue;
    }
    if (absl::StartsWith(t, "Bail out!")) {
      Record(r, "Bail out!", false);
      continue;
    }
    std::cmatch m;
    if (!std::regex_match(t.begin(), t.end(), m, kLine)) continue;
    ++seen;
    std::string directive = absl::AsciiStrToUpper(m[4].str());
    if (directive == "SKIP") continue;
    bool ok = m[1].str() == "ok" || directive == "TODO";
    std::string name = m[3].str().empty() ? m[2].str() : m[3].str();
    Record(r, name, ok);
  }
  if (planned >= 0 && seen < planned) {
    Record(r, absl::StrCat("(plan of ", planned, " tests, ", seen, " reported)"), false);  // the run stopped early
  }
  return r;
}

std::string Unescape(std::string s) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : kEntities) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + 1)) {
      s.replace(pos, strlen(from), to);
    }
  }
  return s;
}

std::string Attribute(absl::string_view tag, absl::string_view name) {
  static const std::regex kAttr(R"re(([\w:-]+)\s*=\s*("([^"]*)"|'([^']*)'))re");
  std::string t(tag);
  for (auto it = std::sregex_iterator(t.begin(), t.end(), kAttr); it != std::sregex_iterator(); ++it) {
    if ((*it)[1].str() == name) return Unescape((*it)[3].matched ? (*it)[3].str() : (*it)[4].str());
  }
  return "";
}

}  // namespace

absl::StatusOr<TestFormat> ParseTestFormat(std::string_view name) {
  static const std::pair<const char*, TestFormat> kNames[] = {
      {"exit", TestFormat::kExit},     {"junit", TestFormat::kJunit},       {"gtest", TestFormat::kGtest},
      {"ctest", TestFormat::kCtest},   {"pytest", TestFormat::kPytest},     {"unittest", TestFormat::kUnittest},
      {"tap", TestFormat::kTap}};
  for (const auto& [n, f] : kNames) {
    if (name == n) return f;
  }
  return absl::InvalidArgumentError(absl::StrCat("--test-format ", std::string(name),
                                                 ": not one of exit, junit, gtest, ctest, pytest, unittest, tap"));
}

std::string TestFormatName(TestFormat format) {
  switch (format) {
    case TestFormat::kExit: return "exit";
    case TestFormat::kJunit: return "junit";
    case TestFormat::kGtest: return "gtest";
    case TestFormat::kCtest: return "ctest";
    case TestFormat::kPytest: return "pytest";
    case TestFormat::kUnittest: return "unittest";
    case TestFormat::kTap: return "tap";
  }
  return "exit";
}

std::set<std::string> TestResults::Failing() const {
  std::set<std::string> out;
  for (const auto& [name, passed] : tests) {
    if (!passed) out.insert(name);
  }
  return out;
}

std::set<std::string> TestResults::Passing() const {
  std::set<std::string> out;
  for (const auto& [name, passed] : tests) {
    if (passed) out.insert(name);
  }
  return out;
}

TestResults ParseTestOutput(TestFormat format, std::string_view out) {
  absl::string_view output(out.data(), out.size());
  switch (format) {
    case TestFormat::kGtest: return ParseGtest(output);
    case TestFormat::kCtest: return ParseCtest(output);
    case TestFormat::kPytest: return ParsePytest(output);
    case TestFormat::kUnittest: return ParseUnittest(output);
    case TestFormat::kTap: return ParseTap(output);
    case TestFormat::kExit:
    case TestFormat::kJunit: break;
  }
  return {};
}

TestResults ParseJunitReport(std::string_view report) {
  absl::string_view xml(report.data(), report.size());
  TestResults r;
  std::size_t pos = 0;
  while ((pos = xml.find("<testcase", pos)) != absl::string_view::npos) {
    std::size_t end = xml.find('>', pos);
    if (end == absl::string_view::npos) break;
    absl::string_view tag = xml.substr(pos, end - pos + 1);
    std::string name = Attribute(tag, "name"), classname = Attribute(tag, "classname");
    std::string full = classname.empty() ? name : classname + "." + name;
    bool self_closing = end > 0 && xml[end - 1] == '/';
    absl::string_view body;
    if (!self_closing) {
      std::size_t close = xml.find("</testcase>", end);
      body = xml.substr(end + 1, close == absl::string_view::npos ? absl::string_view::npos : close - end - 1);
    }
    pos = end + 1;
    if (body.find("<skipped") != absl::string_view::npos) continue;
    bool failed = body.find("<failure") != absl::string_view::npos || body.find("<error") != absl::string_view::npos;
    Record(r, full, !failed);
  }
  return r;
}

Verdict JudgePerTest(const TestResults& head, const TestResults& candidate, int exit_code, bool timed_out,
                     const std::vector<std::string>& required) {
  auto list = [](const std::vector<std::string>& names) {
    std::string s = absl::StrJoin(names.begin(), names.begin() + std::min<std::size_t>(names.size(), 10), ", ");
    if (names.size() > 10) absl::StrAppend(&s, " and ", names.size() - 10, " more");
    return s;
  };
  if (timed_out) return {false, "the tests timed out"};
  if (exit_code >= 128) {
    return {false, absl::StrCat("the test command died (exit ", exit_code, ", a signal): its results are incomplete")};
  }
  if (!candidate.ran) return {false, "no test results were found: the suite did not run, or not in the given format"};
  std::vector<std::string> broken, missing, required_failing;
  for (const auto& name : head.Passing()) {
    auto it = candidate.tests.find(name);
    if (it == candidate.tests.end()) {
      missing.push_back(name);
    } else if (!it->second) {
      broken.push_back(name);
    }
  }
  for (const auto& name : required) {
    auto it = candidate.tests.find(name);
    if (it == candidate.tests.end() || !it->second) required_failing.push_back(name);
  }
  if (!broken.empty()) return {false, "tests that passed before fail: " + list(broken)};
  if (!missing.empty()) return {false, "tests that passed before did not run: " + list(missing)};
  if (!required_failing.empty()) return {false, "tests the plan requires do not pass: " + list(required_failing)};
  if (exit_code != 0 && candidate.Failing().empty()) {
    return {false, absl::StrCat("the test command exited ", exit_code, " and no failing test explains it")};
  }
  return {true, ""};
}

}  // namespace swarm
