// How each repository's tests run, for `swarm eval` (docs/eval.md): a TOML file of
//
//   [repo."pytest-dev/pytest"]
//   test_cmd = "python -m pytest -rA {tests}"  # {tests}: the files the instance's test_patch touches
//   test_format = "pytest"                     # any per-test --test-format
//   test_report = "report.xml"                 # junit only: where the run writes its report
//   setup = ["..."]                            # run first, in the sandbox, at the root; {version}
//   env = ["PYTHONPATH=src"]                   # NAME=VALUE, added to the sandbox's environment
//   ro_bind = ["/opt/venvs/pytest"]            # host paths the tests read, as --sandbox-ro-bind
//   timeout = "30m"                            # each setup command and the tests (default 30m)
//
// An unknown key is an error (a typo must not silently grade with the default).
#ifndef SWARM_ORCHESTRATOR_EVAL_EVAL_SPEC_H_
#define SWARM_ORCHESTRATOR_EVAL_EVAL_SPEC_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "test_results/test_results.h"

namespace swarm {

struct RepoEnvironment {
  std::string test_cmd;
  TestFormat test_format = TestFormat::kPytest;
  std::string test_report;  // junit: relative to the repository's root
  std::vector<std::string> setup;
  std::vector<std::string> env;
  std::vector<std::string> ro_binds;
  std::chrono::seconds timeout{1800};
};

struct EvalSpec {
  std::map<std::string, RepoEnvironment> repos;  // by "owner/name"
};

// Parses the spec's `text` (from `origin`, which errors name with the line). InvalidArgument: not TOML,
// an unknown key, a missing test_cmd, a test_format that gives no per-test results (exit), junit
// without test_report, an env entry without "=", a relative ro_bind.
absl::StatusOr<EvalSpec> ParseEvalSpec(const std::string& text, const std::string& origin);

// `command` with every {tests} replaced by `tests`, each quoted for sh, joined by spaces, and every
// {version} by `version`, quoted.
std::string ExpandCommand(const std::string& command, const std::vector<std::string>& tests,
                          const std::string& version);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVAL_EVAL_SPEC_H_
