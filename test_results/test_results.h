// What a test run says test by test, read from the output of the test command (or the JUnit report it
// wrote), and the gate's verdict on a candidate from it. The format is named by the user, never
// guessed: a wrong guess would silently change what passes.
//
//   exit      the exit status alone (0 passes); no per-test results
//   junit     a JUnit XML report the run writes (--test-report PATH, relative to the tree's root)
//   gtest     GoogleTest output: "[       OK ] Suite.Name (3 ms)", "[  FAILED  ] Suite.Name (3 ms)"
//   ctest     CTest output: "  1/9 Test  #1: name ....   Passed    0.01 sec", "***Failed", "***Timeout"
//   pytest    pytest with -rA (or -v): "PASSED path::test", "FAILED path::test - ...", "path::test PASSED"
//   unittest  python -m unittest -v: "test_x (module.Class.test_x) ... ok", "... FAIL", "... ERROR"
//   tap       TAP: "ok 1 - name", "not ok 2 - name", "# SKIP" and "# TODO" directives, "Bail out!"
//
// A test's identity is the format's full name: the pytest node id, "Suite.Name" for GoogleTest,
// "module.Class.test" for unittest, "classname.name" for JUnit, the description for TAP.
#ifndef SWARM_TEST_RESULTS_TEST_RESULTS_H_
#define SWARM_TEST_RESULTS_TEST_RESULTS_H_

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

enum class TestFormat { kExit, kJunit, kGtest, kCtest, kPytest, kUnittest, kTap };

absl::StatusOr<TestFormat> ParseTestFormat(std::string_view name);
std::string TestFormatName(TestFormat format);

struct TestResults {
  // Evidence that the suite ran: at least one result (or, for TAP, a plan) was parsed.
  bool ran = false;
  std::map<std::string, bool> tests;  // name -> passed; skipped tests are not listed

  std::set<std::string> Failing() const;
  std::set<std::string> Passing() const;
};

// Parses the output of a test command (stdout and stderr together) in `format` (not kExit or kJunit).
TestResults ParseTestOutput(TestFormat format, std::string_view output);
// Parses a JUnit XML report (testsuites/testsuite/testcase with failure, error or skipped).
TestResults ParseJunitReport(std::string_view xml);

struct Verdict {
  bool pass = false;
  std::string why;  // for people: what failed, or what was missing
};

// The per-test gate. `head` is what the tests said on the tree the candidate lands on; `candidate` is
// what they say with it; `exit_code` and `timed_out` are the candidate run's; `required` are the tests
// the candidate's subtasks name in the plan. The candidate passes when the suite ran, no test that
// passed on the head fails or is missing, every required test passes, and a non-zero exit is explained
// by failing tests (as in SWE-bench's grading: a non-zero exit with no failing test parsed is never a
// pass, nor is a run without results).
Verdict JudgePerTest(const TestResults& head, const TestResults& candidate, int exit_code, bool timed_out,
                     const std::vector<std::string>& required);

}  // namespace swarm

#endif  // SWARM_TEST_RESULTS_TEST_RESULTS_H_
