// Where the run's test runs get their trees. Best: a layer per run over a shared checkout of the
// tree (overlays: root, in a mount namespace of swarm's own), capped while the tests write. Else a
// full checkout per run, capped on a tmpfs of its own (an ordinary user in a namespace of its own).
// Else a full checkout per run, measured when the test ends. Each step down is a note to the user.
#ifndef SWARM_ORCHESTRATOR_RUN_TEST_TREE_CHOICE_H_
#define SWARM_ORCHESTRATOR_RUN_TEST_TREE_CHOICE_H_

#include <iosfwd>
#include <memory>

#include "git/integration_repo.h"
#include "git/test_trees.h"
#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/run_layout.h"
#include "sandbox/sandbox.h"

namespace swarm {

// Sets `gate` up with the best of the three; returns the layers when they are used (they must
// outlive the gate's test runs). Notes go to `err`.
std::unique_ptr<TestTrees> ChooseTestTrees(const RunLayout& layout, const Sandbox& sandbox, const IntegrationRepo& repo,
                                           TestGate& gate, std::ostream& err);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_TEST_TREE_CHOICE_H_
