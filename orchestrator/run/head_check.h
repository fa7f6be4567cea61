// The tests on the head before any agent starts: the run's base, or a resumed run's integration
// head. What they say is the baseline for per-test results; with `exit`, a head that fails its tests
// stops the run before anything is spent.
#ifndef SWARM_ORCHESTRATOR_RUN_HEAD_CHECK_H_
#define SWARM_ORCHESTRATOR_RUN_HEAD_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "git/git.h"
#include "orchestrator/merge/test_gate.h"

namespace swarm {

struct HeadCheck {
  std::string tree;
  TestOutcome outcome;
  std::vector<std::string> flaky;  // failed on the first run and passed on the re-run
};

// Tests `head`'s tree (`at_base`: the run's base; it names the log). A failure is run once more
// before it is believed, and the better of the two counts.
absl::StatusOr<HeadCheck> TestHead(TestGate& gate, const Git& git, const std::string& head, bool at_base);

// Whether a run may start from `check`: with `exit` the tests must pass; with a per-test format they
// must have given results (failing tests are allowed: a fix starts from them). `where` names the head.
absl::Status AcceptHead(const HeadCheck& check, TestFormat format, const std::string& where);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_HEAD_CHECK_H_
