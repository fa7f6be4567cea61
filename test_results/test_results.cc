#include "test_results/test_results.h"

#include <re2/re2.h>

#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace swarm {
namespace {

void Record(TestResults& r, const std::string& name, bool passed) {
  if (name.empty()) return;
  r.ran = true;
  // A test reported twice (a summary repeats failures) keeps its worst result.
  auto [it, inserted] = r.tests.emplace(name, passed);
  if (!inserted) it->second = it->second && passed;
}

// The output is the patch's: a test may print one 10 MB line or millions of short ones. Every line is
// cut to kMaxParsedLine before a parser looks at it (no test name or status line is longer), which
// bounds the work per line and the length of every name kept; lines are visited in place, never
// copied into a vector (64 MiB of newlines would be a billion bytes of string_views). The patterns
// run on RE2, which matches in time linear in the line and without recursion (libstdc++'s std::regex
// recurses once per character and backtracks exponentially); they are byte patterns (Latin-1), as
// std::regex's were, so output that is not UTF-8 still parses.
constexpr std::size_t kMaxParsedLine = 4096;
// A JUnit <testcase ...> tag is cut to this before its attributes are read.
constexpr std::size_t kMaxJunitTag = 16384;

// The lines of a text (without "\n" and a trailing "\r"), each cut to kMaxParsedLine.
class Lines final {
 public:
  explicit Lines(absl::string_view text) : text_(text) {}
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = absl::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const absl::string_view*;
    using reference = const absl::string_view&;
    Iterator(absl::string_view rest, bool done) : rest_(rest), done_(done) { Load(); }
    reference operator*() const { return line_; }
    Iterator& operator++() {
      if (next_ == absl::string_view::npos) {
        done_ = true;
      } else {
        rest_.remove_prefix(next_ + 1);
        Load();
      }
      return *this;
    }
    bool operator==(const Iterator& other) const { return done_ == other.done_; }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    void Load() {
      if (done_) return;
      next_ = rest_.find('\n');
      line_ = rest_.substr(0, next_);
      if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
      if (line_.size() > kMaxParsedLine) line_ = line_.substr(0, kMaxParsedLine);
    }
    absl::string_view rest_;
    absl::string_view line_;
    std::size_t next_ = 0;
    bool done_;
  };
  Iterator begin() const { return Iterator(text_, false); }
  Iterator end() const { return Iterator(text_, true); }

 private:
  absl::string_view text_;
};

re2::StringPiece Piece(absl::string_view s) { return re2::StringPiece(s.data(), s.size()); }

// A pattern compiled once, matching bytes.
const RE2& Pattern(const char* pattern) {
  RE2::Options options(RE2::Latin1);
  options.set_log_errors(false);
  return *new RE2(pattern, options);  // never destroyed: used from any thread until exit
}

// "[       OK ] Suite.Name (3 ms)" and "[  FAILED  ] Suite.Name (3 ms)"; a parameterised name is cut
// at ", where GetParam() = ...". The summary's "[  FAILED  ] 2 tests, listed below:" is not a test.
TestResults ParseGtest(absl::string_view output) {
  TestResults r;
  std::string running;  // a test started and not finished: if the output ends there, it crashed
  for (absl::string_view line : Lines(output)) {
    if (line.empty()) continue;  // most of a flood; no format says anything on one
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
  static const RE2& kLine = Pattern(R"(^\s*\d+/\d+ Test\s+#\d+: (\S+) \.*\s*\**(\w+))");
  TestResults r;
  for (absl::string_view line : Lines(output)) {
    if (line.empty()) continue;  // most of a flood; no format says anything on one
    std::string name, status;
    if (!RE2::PartialMatch(Piece(line), kLine, &name, &status)) continue;
    if (status == "Skipped" || status == "Disabled" || absl::StrContains(line, "(Disabled)")) continue;
    Record(r, name, status == "Passed");
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
    if (line.empty()) continue;  // most of a flood; no format says anything on one
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
  static const RE2& kHead = Pattern(R"(^\s*(\w+) \(([\w.]+)\))");
  static const std::set<std::string> kPass = {"ok", "expected failure"};
  static const std::set<std::string> kFail = {"FAIL", "ERROR", "unexpected success"};
  TestResults r;
  std::string pending;  // a test whose status has not come yet (a docstring, stderr in between, subtests)
  auto status_of = [](absl::string_view text) {
    std::string s(absl::StripAsciiWhitespace(text));
    return s;
  };
  for (absl::string_view line : Lines(output)) {
    if (line.empty()) continue;  // most of a flood; no format says anything on one
    std::string name, method, where;
    if (RE2::PartialMatch(Piece(line), kHead, &method, &where)) {
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
  static const RE2& kLine = Pattern(R"((not ok|ok)\b\s*(\d*)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(\w+).*)?)");
  static const RE2& kPlan = Pattern(R"(1\.\.(\d+).*)");
  TestResults r;
  long planned = -1, seen = 0;
  bool in_yaml = false;
  for (absl::string_view line : Lines(output)) {
    if (line.empty()) continue;  // most of a flood; no format says anything on one
    // Subtests are indented; only the top level counts (a subtest's result is its parent's too).
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      absl::string_view t = absl::StripLeadingAsciiWhitespace(line);
      if (t == "---") in_yaml = true;
      if (t == "...") in_yaml = false;
      continue;
    }
    if (in_yaml) continue;
    absl::string_view t = line;
    std::string plan;
    if (RE2::FullMatch(Piece(t), kPlan, &plan)) {
      r.ran = true;
      if (!absl::SimpleAtoi(plan, &planned)) planned = -1;  // "1..99999999999999999999": no usable plan
      continue;
    }
    if (absl::StartsWith(t, "Bail out!")) {
      Record(r, "Bail out!", false);
      continue;
    }
    std::string verdict, number, description, directive;
    if (!RE2::FullMatch(Piece(t), kLine, &verdict, &number, &description, &directive)) continue;
    ++seen;
    directive = absl::AsciiStrToUpper(directive);
    if (directive == "SKIP") continue;
    bool ok = verdict == "ok" || directive == "TODO";
    Record(r, description.empty() ? number : description, ok);
  }
  if (planned >= 0 && seen < planned) {
    Record(r, absl::StrCat("(plan of ", planned, " tests, ", seen, " reported)"), false);  // the run stopped early
  }
  return r;
}

// XML's five named entities, in one pass (replacing in place would be quadratic in their number).
std::string Unescape(absl::string_view s) {
  static const std::pair<absl::string_view, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&amp;", '&'}};
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [from, to] : kEntities) {
        if (absl::StartsWith(s.substr(i), from)) {
          out += to;
          i += from.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// The value of attribute `name` in a tag already cut to kMaxJunitTag.
std::string Attribute(absl::string_view tag, absl::string_view name) {
  static const RE2& kAttr = Pattern(R"re(([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'))re");
  re2::StringPiece rest = Piece(tag);
  std::string key;
  re2::StringPiece double_quoted, single_quoted;
  while (RE2::FindAndConsume(&rest, kAttr, &key, &double_quoted, &single_quoted)) {
    if (key != name) continue;
    const re2::StringPiece& value = double_quoted.data() != nullptr ? double_quoted : single_quoted;
    return Unescape(absl::string_view(value.data(), value.size()));
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
    absl::string_view tag = xml.substr(pos, std::min(end - pos + 1, kMaxJunitTag));
    std::string name = Attribute(tag, "name"), classname = Attribute(tag, "classname");
    // A test case without a name (or with one too long to read) is not a test anyone can require.
    std::string full = name.empty() || classname.empty() ? name : classname + "." + name;
    bool self_closing = end > 0 && xml[end - 1] == '/';
    absl::string_view body;
    if (!self_closing) {
      // A test case's body ends at its close tag, and at the latest where the next one starts: so every
      // byte is searched once, whatever a hostile report leaves unclosed.
      std::size_t next = xml.find("<testcase", end);
      body = xml.substr(end + 1, next == absl::string_view::npos ? absl::string_view::npos : next - end - 1);
      body = body.substr(0, body.find("</testcase>"));
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
