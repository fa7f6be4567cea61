#include "orchestrator/run/head_check.h"

#include "absl/strings/str_cat.h"
#include "git/git.h"

namespace swarm {

absl::StatusOr<HeadCheck> TestHead(TestGate& gate, const Git& git, const std::string& head, bool at_base) {
  absl::StatusOr<std::string> tree = git.Run({"rev-parse", head + "^{tree}"});
  if (!tree.ok()) return tree.status();
  HeadCheck check;
  check.tree = TrimNewline(*tree);
  absl::StatusOr<TestOutcome> outcome = gate.Test(check.tree, at_base ? "base" : "head");
  if (!outcome.ok()) return outcome.status();
  if (!outcome->passed && !outcome->timed_out) {
    absl::StatusOr<TestOutcome> again = gate.Test(check.tree, at_base ? "base.rerun" : "head.rerun", /*use_cache=*/false);
    if (again.ok() && (again->passed || (again->results.ran && again->results.Failing().size() <
                                                                   outcome->results.Failing().size()))) {
      check.flaky = FlakyTests(*outcome, *again, gate.format());
      outcome = std::move(again);
    }
  }
  check.outcome = std::move(*outcome);
  return check;
}

absl::Status AcceptHead(const HeadCheck& check, TestFormat format, const std::string& where) {
  const TestOutcome& outcome = check.outcome;
  if (format == TestFormat::kExit) {
    if (outcome.passed) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("the test command fails on ", where, " (", outcome.result,
                                                   ") before any agent started; log: ", outcome.log_path));
  }
  if (outcome.results.ran && !outcome.timed_out) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "the test command gave no ", TestFormatName(format), " results on ", where, " (", outcome.result,
      "): is --test-format right", format == TestFormat::kJunit ? " and --test-report the file it writes" : "",
      "? log: ", outcome.log_path));
}

}  // namespace swarm
