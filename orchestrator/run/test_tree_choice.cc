#include "orchestrator/run/test_tree_choice.h"

#include <unistd.h>

#include <filesystem>
#include <ostream>

#include "git/workspace.h"
#include "sandbox/overlay_mount.h"

namespace swarm {

std::unique_ptr<TestTrees> ChooseTestTrees(const RunLayout& layout, const Sandbox& sandbox, const IntegrationRepo& repo,
                                           TestGate& gate, std::ostream& err) {
  namespace fs = std::filesystem;
  const LayerLimits growth = LayerLimitsFor(TreeUsage{layout.tree_growth_bytes, layout.tree_growth_files});
  gate.LimitTreeGrowth(growth);
  if (!InPrivateMountNamespace()) {
    err << "swarm: note: test runs use full checkouts, not capped while the tests write ("
        << WhyNoPrivateMountNamespace() << ")\n";
    return nullptr;
  }
  const std::string mount_place = layout.workspace_root + "/test-mounts";
  std::error_code made;
  absl::Status st = absl::OkStatus();
  if (!fs::create_directories(mount_place, made) && made) {
    st = absl::PermissionDeniedError("cannot create " + mount_place + ": " + made.message());
  }
  // Overlays need root; a user namespace of swarm's own mounts only the capped checkouts.
  if (st.ok()) {
    st = geteuid() == 0 ? ProbeOverlay(layout.workspace_root)
                        : absl::FailedPreconditionError("overlay test trees need root");
  }
  if (st.ok()) {
    const Sandbox* s = &sandbox;
    auto trees = std::make_unique<TestTrees>(repo.git(), layout.workspace_root + "/test-layers",
                                             [s](const std::string& dir) { return s->HandOver(dir); },
                                             /*max_delta=*/256, mount_place, growth);
    gate.UseLayers(trees.get());
    return trees;
  }
  err << "swarm: note: test runs use full checkouts (" << st.message() << ")\n";
  if (fs::is_directory(mount_place)) {
    if (absl::Status probe = ProbeLayerFs(mount_place); probe.ok()) {
      gate.CapCheckouts(mount_place, growth);
    } else {
      err << "swarm: note: test runs' checkouts are not capped while the tests write (" << probe.message() << ")\n";
    }
  }
  return nullptr;
}

}  // namespace swarm
