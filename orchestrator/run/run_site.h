// Where a run happens, made before anything of it runs: its directories and lock (for a resume,
// with what the dead coordinator left killed and removed), its store, its integration repository,
// where its workspaces go (RAM or disk, and each tree's share), its runtime directory, the paths its
// sandboxes hide, how its limits are enforced, and its test gate with the trees its test runs get.
// What the site put in RAM and in the runtime directory goes with it, unless the run keeps its
// workspaces.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_SITE_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_SITE_H_

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "git/integration_repo.h"
#include "git/test_trees.h"
#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/run_layout.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/store/run_lock.h"
#include "orchestrator/store/store.h"
#include "sandbox/overlay_mount.h"
#include "sandbox/sandbox.h"

namespace swarm {

struct RunSite {
  RunSite() = default;
  ~RunSite();
  RunSite(const RunSite&) = delete;
  RunSite& operator=(const RunSite&) = delete;

  // Before the run is recorded finished (a coordinator killed after that is never resumed, and
  // would leave them in RAM): the test layers unmounted, the runtime directory and the workspaces
  // removed. Nothing may run in them any more.
  void Clear();

  RunLayout layout;
  // The workspace root's own tmpfs (RunLayout::own_tmpfs_bytes): unmounted after the test trees in it.
  std::unique_ptr<LayerFs> workspace_fs;
  std::uint64_t ram_promised = 0;  // of the RAM available at its start: half, for its trees
  std::optional<RunLock> lock;  // held while the site lives
  std::unique_ptr<Store> store;
  std::unique_ptr<IntegrationRepo> repo;
  std::unique_ptr<TestTrees> test_trees;  // null: full checkouts for test runs; outlives gate
  std::unique_ptr<TestGate> gate;
  std::string limits_mode;   // how limits are enforced: cgroup or rlimit
  int leftovers_killed = 0;  // a resume: the dead coordinator's processes
  bool keep_workspaces = false;
};

// Makes `run`'s site, step by step; on an error, what was made stays in `site` (an open store
// records the failure). Lines for people go to `out` (none with --json), notes to `err`.
absl::Status OpenRunSite(const PreparedRun& run, const Sandbox& sandbox, std::ostream& out, std::ostream& err,
                         RunSite& site);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_SITE_H_
