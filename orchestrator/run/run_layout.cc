#include "orchestrator/run/run_layout.h"

#include <stdlib.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orchestrator/store/cancel_file.h"
#include "sandbox/overlay_mount.h"
#include "test_results/test_results.h"

namespace swarm {
namespace fs = std::filesystem;

absl::StatusOr<RunLayout> MakeRunDirs(const PreparedRun& run) {
  RunLayout layout;
  layout.run_dir = absl::StrCat(run.state_dir, "/runs/", run.run_id);
  layout.log_dir = layout.run_dir + "/logs";
  layout.ledger_dir = layout.run_dir + "/pids";
  layout.live_log_dir = layout.run_dir + "/live";
  std::error_code ec;
  fs::create_directories(layout.log_dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", layout.log_dir, ": ", ec.message()));
  fs::create_directories(layout.live_log_dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", layout.live_log_dir, ": ", ec.message()));
  return layout;
}

void RemoveWorkspacesAndSocket(const std::string& run_id, const std::string& run_dir) {
  std::error_code ec;
  for (const std::string& dir : {"/dev/shm/swarm-" + run_id, run_dir + "/work"}) fs::remove_all(dir, ec);
  std::string old_runtime;
  std::ifstream(run_dir + "/runtime-dir") >> old_runtime;
  if (fs::path(old_runtime).filename().string().rfind("swarm-", 0) == 0) fs::remove_all(old_runtime, ec);
}

void RemoveLeftovers(const PreparedRun& run, const RunLayout& layout) {
  std::error_code ec;
  fs::remove(CancelFilePath(layout.run_dir), ec);  // a cancel of the old coordinator does not carry over
  // We hold the run: a ref lock left by a crash mid-update would block every landing.
  fs::remove(layout.run_dir + "/integration.git/refs/heads/integration.lock", ec);
  RemoveWorkspacesAndSocket(run.run_id, layout.run_dir);
  // The dead coordinator's attempts' live logs (a resume starts new attempts).
  fs::remove_all(layout.live_log_dir, ec);
  fs::create_directories(layout.live_log_dir, ec);
}

absl::Status PlaceWorkspaces(const PreparedRun& run, std::uint64_t tree_bytes, std::uint64_t shm_free_bytes,
                             RunLayout& layout, std::optional<TreeUsage> disk_free, bool own_tmpfs) {
  std::uint64_t need = (static_cast<std::uint64_t>(run.config.agents) + 2) * tree_bytes * 2 + (64 << 20);
  const bool llm = run.config.agent_command.empty() && !run.config.model.empty();
  const int jobs = run.config.test_jobs > 0 ? run.config.test_jobs
                                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int trees = run.config.agents * (llm ? 2 : 1) + jobs + std::max(1, run.config.queue_depth) + 1;
  const std::uint64_t slack = kLayerSlackBytes + kLayerSlackInodes * kBytesPerInode;
  const std::uint64_t half = shm_free_bytes / 2;
  const std::uint64_t per_tree = half > need ? (half - need) / static_cast<std::uint64_t>(trees) : 0;
  layout.workspaces_on_tmpfs = half >= need && per_tree >= slack + (2 << 20);
  const std::uint64_t flag_bytes = static_cast<std::uint64_t>(run.config.max_workspace_mb) << 20;
  const std::uint64_t flag_files = static_cast<std::uint64_t>(run.config.max_workspace_files);
  layout.tree_growth_bytes = flag_bytes;
  layout.tree_growth_files = flag_files;
  layout.trees_sharing = 0;
  auto capped = [](std::uint64_t flag, std::uint64_t most) { return flag == 0 ? most : std::min(flag, most); };
  if (layout.workspaces_on_tmpfs) {
    layout.trees_sharing = trees;
    layout.shared_space = own_tmpfs ? "the RAM" : "/dev/shm";
    const std::uint64_t share = per_tree - slack;
    layout.tree_growth_files = capped(flag_files, share / 2 / kBytesPerInode);
    layout.tree_growth_bytes = capped(flag_bytes, share - layout.tree_growth_files * kBytesPerInode);
  } else if (disk_free) {
    // Each tree may be a full checkout on the disk too (a test tree as an ordinary user): what is
    // left of half past them is shared.
    const std::uint64_t half_bytes = disk_free->bytes / 2;
    const std::uint64_t checkouts = static_cast<std::uint64_t>(trees + 2) * tree_bytes;
    const std::uint64_t bytes_share =
        half_bytes > checkouts ? (half_bytes - checkouts) / static_cast<std::uint64_t>(trees) : 0;
    layout.trees_sharing = trees;
    layout.shared_space = "the disk";
    layout.tree_growth_bytes = capped(flag_bytes, std::max<std::uint64_t>(bytes_share, 1 << 20));
    if (disk_free->entries > 0) {  // 0: a file system with no fixed number of inodes (btrfs)
      layout.tree_growth_files =
          capped(flag_files, std::max<std::uint64_t>(disk_free->entries / 2 / static_cast<std::uint64_t>(trees), 1000));
    }
  }
  const bool in_shm = layout.workspaces_on_tmpfs && !own_tmpfs;
  layout.workspace_root = in_shm ? "/dev/shm/swarm-" + run.run_id : layout.run_dir + "/work";
  // A ceiling: it holds what agents and tests do not write (the shared checkouts, each attempt's host
  // repository and index, mount points); the trees they write are tmpfs of their own, each capped at
  // its share. Sized to `need` alone it filled at 1,000 agents (their host repositories).
  layout.own_tmpfs_bytes = layout.workspaces_on_tmpfs && own_tmpfs ? half : 0;
  std::error_code ec;
  fs::create_directories(layout.workspace_root, ec);
  if (ec) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", layout.workspace_root, ": ", ec.message()));
  }
  return absl::OkStatus();
}

namespace {

// A number in a file of one line ("max" and the like read as none).
std::optional<std::uint64_t> NumberIn(const std::string& path) {
  std::ifstream f(path);
  std::string text;
  if (!(f >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return strtoull(text.c_str(), nullptr, 10);
}

// A field of a memory.stat file ("inactive_file 1234"); 0 where absent.
std::uint64_t StatField(const std::string& path, const std::string& name) {
  std::ifstream f(path);
  std::string key;
  std::uint64_t value = 0;
  while (f >> key >> value) {
    if (key == name) return value;
  }
  return 0;
}

// What the memory cgroup at `dir` has left under its limit, its reclaimable page cache not counted
// as used; unset where it has no limit or none can be read.
std::optional<std::uint64_t> LeftIn(const std::string& dir, bool v2) {
  std::optional<std::uint64_t> limit = NumberIn(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
  std::optional<std::uint64_t> usage = NumberIn(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"));
  if (!limit || !usage || *limit >= (1ull << 60)) return std::nullopt;
  const std::uint64_t cache = StatField(dir + "/memory.stat", v2 ? "inactive_file" : "total_inactive_file");
  const std::uint64_t used = *usage > cache ? *usage - cache : 0;
  return *limit > used ? *limit - used : 0;
}

// What this process's memory cgroup (v2, or v1's memory controller) and each one above it have left
// under their limits, the least; unset where none has a limit. A container's limit is far below
// what the machine shows, and may be set on an ancestor (a systemd slice, a pod) or be all a
// container sees of its cgroup (v1: its own at the root of /sys/fs/cgroup/memory).
std::optional<std::uint64_t> CgroupMemoryLeft() {
  std::optional<std::uint64_t> least;
  std::ifstream self("/proc/self/cgroup");
  for (std::string line; std::getline(self, line);) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    const bool v2 = f[0] == "0" && f[1].empty();
    if (!v2 && !absl::StrContains(f[1], "memory")) continue;
    const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    for (fs::path p = f[2];; p = p.parent_path()) {
      const std::string rel = p.string() == "/" ? "" : p.string();
      if (std::optional<std::uint64_t> left = LeftIn(root + rel, v2)) least = std::min(least.value_or(*left), *left);
      if (rel.empty() || !p.has_parent_path() || p.parent_path() == p) break;
    }
  }
  return least;
}

}  // namespace

std::uint64_t AvailableMemoryBytes() {
  std::uint64_t available = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (line.rfind("MemAvailable:", 0) == 0) available = strtoull(line.c_str() + 13, nullptr, 10) << 10;  // kB
  }
  if (std::optional<std::uint64_t> left = CgroupMemoryLeft()) available = std::min(available, *left);
  return available;
}

absl::Status MakeRuntimeDir(RunLayout& layout) {
  const char* xdg = getenv("XDG_RUNTIME_DIR");
  std::string tmpl = absl::StrCat(xdg != nullptr && *xdg == '/' && strlen(xdg) < 60 ? xdg : "/tmp", "/swarm-XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot create ", tmpl));
  layout.runtime_dir = buf.data();
  std::ofstream record(layout.run_dir + "/runtime-dir");
  record << layout.runtime_dir << "\n";
  record.close();
  if (!record) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", layout.run_dir, "/runtime-dir"));
  layout.socket_path = layout.runtime_dir + "/agent.sock";
  if (layout.socket_path.size() > 107) {
    return absl::FailedPreconditionError(absl::StrCat("socket path ", layout.socket_path, " exceeds 107 bytes"));
  }
  return absl::OkStatus();
}

void HidePaths(const PreparedRun& run, RunLayout& layout) {
  std::vector<std::string>& hidden = layout.hidden_paths;
  hidden = {run.state_dir, run.repo_root, layout.workspace_root, layout.runtime_dir};
  if (run.user->git_dir().rfind(run.repo_root, 0) != 0) hidden.push_back(run.user->git_dir());
  // From a linked worktree, the main checkout (beside the common .git) is the user's too.
  fs::path common = fs::path(run.user->ObjectDir()).parent_path();
  if (common.filename() == ".git") hidden.push_back(common.parent_path().string());
  if (const char* xdg = getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') hidden.push_back(xdg);
  // The build cache: test runs bind it writable over this; agents never see it.
  if (!run.config.build_cache.empty()) hidden.push_back(run.config.build_cache);
  // A served run: its server's control socket and token file, wherever they are.
  hidden.insert(hidden.end(), run.config.hidden_paths.begin(), run.config.hidden_paths.end());
  layout.sandbox_home = "/tmp";
  if (const char* h = getenv("HOME"); h != nullptr && *h == '/' && std::string(h) != "/" && fs::is_directory(h)) {
    layout.sandbox_home = h;
    hidden.push_back(h);
  }
}

SandboxPolicy TestPolicy(const PreparedRun& run, const RunLayout& layout) {
  const RunConfig& cfg = run.config;
  SandboxPolicy policy;
  policy.hidden_paths = layout.hidden_paths;
  policy.ro_binds = cfg.sandbox_ro_binds;
  policy.env = {absl::StrCat("PATH=", kSandboxPath), "HOME=" + layout.sandbox_home,
                "LANG=C.UTF-8"};
  if (!cfg.build_cache.empty()) {
    // Where the usual tools keep their caches, all in the shared directory; --sandbox-env wins.
    // ccache: paths relative to each test tree (every candidate is checked out elsewhere).
    const std::string& c = cfg.build_cache;
    policy.rw_binds = {c};
    policy.env.insert(
        policy.env.end(),
        {"SWARM_BUILD_CACHE=" + c, "XDG_CACHE_HOME=" + c + "/xdg", "CCACHE_DIR=" + c + "/ccache", "CCACHE_BASEDIR=/",
         "CCACHE_NOHASHDIR=1", "PIP_CACHE_DIR=" + c + "/pip", "CARGO_HOME=" + c + "/cargo",
         "GOCACHE=" + c + "/go-build", "GOMODCACHE=" + c + "/go-mod", "npm_config_cache=" + c + "/npm"});
  }
  policy.env.insert(policy.env.end(), run.sandbox_env.begin(), run.sandbox_env.end());
  policy.limits = cfg.limits;
  policy.timeout = std::chrono::seconds(cfg.test_timeout_s);
  TestFormat format = ParseTestFormat(cfg.test_format).value_or(TestFormat::kExit);  // checked by PrepareRun
  // Per-test results are read from the output: keep all of it (a cut would hide tests).
  policy.output_cap = format == TestFormat::kExit || format == TestFormat::kJunit ? (1u << 20) : (64u << 20);
  return policy;
}

std::uint64_t TreeBytes(const Git& git, const std::string& base) {
  absl::StatusOr<std::string> listing = git.Run({"ls-tree", "-r", "-l", "--full-tree", base});
  if (!listing.ok()) return 0;
  std::uint64_t total = 0;
  for (absl::string_view line : absl::StrSplit(*listing, '\n', absl::SkipEmpty())) {
    // "mode type sha size\tpath"
    std::vector<absl::string_view> f = absl::StrSplit(line.substr(0, line.find('\t')), ' ', absl::SkipEmpty());
    if (f.size() == 4) total += strtoull(std::string(f[3]).c_str(), nullptr, 10);
  }
  return total;
}

std::optional<TreeUsage> FreeSpace(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return TreeUsage{static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize, static_cast<std::uint64_t>(st.f_favail)};
}

std::uint64_t FreeBytes(const std::string& path) {
  struct statvfs st{};
  if (statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

std::optional<std::string> LoweredLimitsNote(const RunLayout& layout, const RunConfig& config) {
  if (layout.trees_sharing == 0 ||
      (layout.tree_growth_bytes == (static_cast<std::uint64_t>(config.max_workspace_mb) << 20) &&
       layout.tree_growth_files == static_cast<std::uint64_t>(config.max_workspace_files))) {
    return std::nullopt;
  }
  return absl::StrCat("each workspace and test tree may grow by ", layout.tree_growth_bytes >> 20, " MiB and ",
                      layout.tree_growth_files, " files (--max-workspace-mb ", config.max_workspace_mb,
                      ", --max-workspace-files ", config.max_workspace_files, "): ", layout.trees_sharing,
                      " of them share half of ", layout.shared_space, "'s free space");
}

}  // namespace swarm
