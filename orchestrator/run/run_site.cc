#include "orchestrator/run/run_site.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <ostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/run/bind_check.h"
#include "orchestrator/run/test_tree_choice.h"
#include "sandbox/mount_template.h"
#include "sandbox/overlay_mount.h"
#include "sandbox/pid_ledger.h"
#include "sandbox/resource_scope.h"

namespace swarm {
namespace fs = std::filesystem;

namespace {

// The RAM promised to the live runs of this process (swarm serve hosts several) for their trees.
std::atomic<std::uint64_t> g_ram_promised{0};

}  // namespace

RunSite::~RunSite() {
  gate.reset();
  Clear();
}

void RunSite::Clear() {
  if (gate != nullptr) gate->UseLayers(nullptr);
  test_trees.reset();  // its layers are mounted under the workspace root
  std::error_code ec;
  if (!layout.runtime_dir.empty()) fs::remove_all(layout.runtime_dir, ec);
  workspace_fs.reset();  // the run's own tmpfs, if it has one: emptied, then unmounted
  if (!layout.workspace_root.empty() && !keep_workspaces) fs::remove_all(layout.workspace_root, ec);
  g_ram_promised -= std::exchange(ram_promised, 0);
  // Every attempt is over; only the run's own coordinator (holding its lock) may remove them.
  if (lock.has_value() && !layout.live_log_dir.empty()) fs::remove_all(layout.live_log_dir, ec);
}

absl::Status OpenRunSite(const PreparedRun& run, const Sandbox& sandbox, std::ostream& out, std::ostream& err,
                         RunSite& site) {
  const RunConfig& cfg = run.config;
  site.keep_workspaces = cfg.keep_workspaces;
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run);
  if (!layout.ok()) return layout.status();
  site.layout = std::move(*layout);
  absl::StatusOr<RunLock> lock = RunLock::Acquire(site.layout.run_dir);
  if (!lock.ok()) return lock.status();
  site.lock.emplace(std::move(*lock));
  if (run.resume) {
    // What the dead coordinator left: its processes first (nothing new may start beside them).
    site.leftovers_killed = PidLedger(site.layout.ledger_dir).KillAll();
    RemoveLeftovers(run, site.layout);
    // A git command of the dead coordinator killed half-way (its whole process group killed at a CI
    // time-out) left its lock files: nothing else uses this repository now.
    IntegrationRepo::RemoveStaleLocks(site.layout.run_dir + "/integration.git");
  }
  // Cgroups of swarm processes killed before they could remove them (this run's or another's).
  ResourceScope::RemoveAbandoned();

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(run.state_dir + "/swarm.db");
  if (!store.ok()) return store.status();
  site.store = std::move(*store);
  const std::string repo_dir = site.layout.run_dir + "/integration.git";
  absl::StatusOr<CommitAuthor> author = ParseAuthor(cfg.author, cfg.signoff);  // checked by PrepareRun
  if (!author.ok()) return author.status();
  absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo = run.resume ? IntegrationRepo::Open(repo_dir, *author)
                                                                     : IntegrationRepo::Create(*run.user, repo_dir, run.base, *author);
  if (!repo.ok()) return repo.status();
  site.repo = std::move(*repo);
  if (!cfg.json) {
    // A backlog's issues are planned after this: its subtasks are not known yet.
    const std::string work = cfg.backlog.issues().empty() ? absl::StrCat(run.plan.subtasks.size(), " subtasks")
                                                          : absl::StrCat(cfg.backlog.issues_size(), " issues");
    out << "swarm: " << (run.resume ? "resuming run " : "run ") << run.run_id << ": " << work << ", " << cfg.agents
        << " agents, base " << run.base.substr(0, 12) << ", sandbox " << sandbox.Name() << "\n";
  }
  // In a mount namespace of its own, the run's trees go in a tmpfs of its own, sized from the RAM:
  // /dev/shm's size does not send them to disk. Kept workspaces must outlive the run: not there.
  // Runs served at once: each is given what the others have not been promised.
  const bool own_tmpfs = InPrivateMountNamespace() && !cfg.keep_workspaces;
  std::uint64_t ram_free = fs::is_directory("/dev/shm") ? FreeBytes("/dev/shm") : 0;
  if (own_tmpfs) {
    const std::uint64_t available = AvailableMemoryBytes(), promised = g_ram_promised.load();
    ram_free = available > promised ? available - promised : 0;
  }
  if (absl::Status st = PlaceWorkspaces(run, TreeBytes(*run.user, run.base), ram_free, site.layout,
                                        FreeSpace(site.layout.run_dir), own_tmpfs);
      !st.ok()) {
    return st;
  }
  if (site.layout.own_tmpfs_bytes > 0) {
    // Hosts, started after this, see it in the mount namespace they copy from this process's.
    absl::StatusOr<std::unique_ptr<LayerFs>> fs =
        LayerFs::Mount(site.layout.workspace_root, LayerLimits{site.layout.own_tmpfs_bytes, 0});
    if (!fs.ok()) return fs.status();
    site.workspace_fs = *std::move(fs);
    // What it may hold (a ceiling) and what its trees may grow by: all of it is promised.
    site.ram_promised = site.layout.own_tmpfs_bytes +
                        static_cast<std::uint64_t>(site.layout.trees_sharing) *
                            (site.layout.tree_growth_bytes + site.layout.tree_growth_files * kBytesPerInode);
    g_ram_promised += site.ram_promised;
    // Test runs' sandboxes attach their trees under it: the template must hold it.
    if (absl::Status st = RenewMountTemplate(); !st.ok()) return st;
  }
  if (absl::Status st = MakeRuntimeDir(site.layout); !st.ok()) return st;
  HidePaths(run, site.layout);
  site.limits_mode = ResourceScope::ProbeMode();
  if (!cfg.json) {
    out << "swarm: limits by " << site.limits_mode << ", workspaces on "
        << (site.layout.workspaces_on_tmpfs ? "tmpfs" : "disk") << ", state in " << site.layout.run_dir << "\n";
  }
  if (!cfg.build_cache.empty()) {
    // Test runs write it as the sandbox's user (as root, swarm-sandbox). A new one (PrepareBuildCache
    // let only an empty directory through without the marker) is given to it, then marked; what
    // test runs put there is theirs already, so nothing is ever chowned twice.
    const std::string marker = cfg.build_cache + "/" + kBuildCacheMarker;
    struct stat st {};
    if (lstat(marker.c_str(), &st) != 0) {
      std::error_code ec;
      if (!fs::is_empty(cfg.build_cache, ec)) {
        return absl::FailedPreconditionError("--build-cache " + cfg.build_cache + " changed since it was checked");
      }
      if (absl::Status handed = sandbox.HandOver(cfg.build_cache); !handed.ok()) return handed;  // the directory alone
      const int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      const std::string text = "a build cache of swarm's (--build-cache): every test run of a run shares it\n";
      const bool written = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      if (fd >= 0) close(fd);
      if (!written) return absl::PermissionDeniedError("cannot write " + marker);
    }
    if (!cfg.json) out << "swarm: build cache " << cfg.build_cache << ", shared by every test run\n";
  }
  const RunLayout& l = site.layout;
  TestFormat format = ParseTestFormat(cfg.test_format).value_or(TestFormat::kExit);  // checked by PrepareRun
  site.gate = std::make_unique<TestGate>(sandbox, TestPolicy(run, l), cfg.test_command, format, cfg.test_report,
                                         *site.repo, l.workspace_root, l.log_dir, l.ledger_dir,
                                         l.run_dir + "/test-cache");
  if (std::optional<std::string> note = LoweredLimitsNote(l, cfg)) err << "swarm: note: " << *note << "\n";
  site.test_trees = ChooseTestTrees(l, sandbox, *site.repo, *site.gate, err);
  return absl::OkStatus();
}

}  // namespace swarm
