#include "git/workspace.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "git/patch_entries.h"
#include "sandbox/overlay_mount.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> ReadAlternates(const std::string& object_dir) {
  std::vector<std::string> out;
  std::ifstream f(object_dir + "/info/alternates");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    fs::path p(line);
    if (p.is_relative()) p = fs::path(object_dir) / p;
    out.push_back(fs::weakly_canonical(p).string());
  }
  return out;
}

// The tree of `commit`, read once per process: every attempt on a base asks for the same one.
absl::StatusOr<std::string> TreeOfCommit(const Git& git, const std::string& commit) {
  static std::mutex mu;
  static std::map<std::string, std::string> trees;  // a commit id names its content, whatever the repository
  const bool is_id = (commit.size() == 40 || commit.size() == 64) &&
                     commit.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!is_id) {  // a name may move: ask every time
    absl::StatusOr<std::string> tree = git.Run({"rev-parse", commit + "^{tree}"});
    if (!tree.ok()) return tree.status();
    return TrimNewline(*tree);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = trees.find(commit); it != trees.end()) return it->second;
  }
  absl::StatusOr<std::string> tree = git.Run({"rev-parse", commit + "^{tree}"});
  if (!tree.ok()) return tree.status();
  std::lock_guard<std::mutex> lock(mu);
  if (trees.size() > 4096) trees.clear();
  return trees[commit] = TrimNewline(*tree);
}

}  // namespace

LayerLimits LayerLimitsFor(const TreeUsage& max_growth) {
  // A little more than the growth allowed, so that CheckGrowth, not ENOSPC, names a tree that only
  // reached the limit: the layer's root, upper and work directories, and files' last pages.
  LayerLimits l;
  if (max_growth.bytes > 0) l.bytes = max_growth.bytes + kLayerSlackBytes;
  if (max_growth.entries > 0) l.inodes = max_growth.entries + kLayerSlackInodes;
  // A layer of its own is bounded by no other file system: it may hold no more than half the RAM (a
  // tmpfs's default), whatever the flags say. The run's shares (RunLayout) are what keep the sum down.
  static const std::uint64_t half_ram = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 2 : 0;
  }();
  if (half_ram > 0 && (l.bytes > 0 || l.inodes > 0)) l.bytes = l.bytes > 0 ? std::min(l.bytes, half_ram) : half_ram;
  return l;
}

bool SymlinkStaysInside(const std::string& link_path, const std::string& target) {
  if (target.empty() || target[0] == '/') return false;
  int depth = static_cast<int>(std::count(link_path.begin(), link_path.end(), '/'));  // the link's directory
  bool descended = false;
  for (absl::string_view part : absl::StrSplit(target, '/')) {
    if (part.empty() || part == ".") continue;
    if (absl::EqualsIgnoreCase(part, ".git")) return false;  // the repository's own state, hooks, config
    if (part == "..") {
      // After a named component, ".." depends on whether that component is a link, in this tree or in
      // any tree this patch is later composed with: refuse it rather than guess.
      if (descended || --depth < 0) return false;
    } else {
      descended = true;
    }
  }
  return true;
}

Workspace::Workspace(std::string dir, std::string base, bool keep, const WorkspaceLimits& limits, std::string root)
    : dir_(std::move(dir)),
      root_(root.empty() ? dir_ + "/work" : std::move(root)),
      base_(std::move(base)),
      keep_(keep),
      limits_(limits) {}

Workspace::~Workspace() {
  std::error_code ec;
  if (mounted_) UnmountOverlay(root_);  // its mount point stays until the run ends (overlay_mount.h)
  layer_fs_.reset();  // after the overlay above it
  if (keep_) return;
  fs::remove_all(dir_, ec);
}

absl::Status Workspace::InitHostRepository(const std::string& source_git_dir) {
  // What `git init --bare` makes that git needs (HEAD, objects, refs, a config), written here: one
  // process fewer per attempt, and none of init's template files.
  std::string host_dir = dir_ + "/host.git";
  std::error_code ec;
  for (const char* sub : {"/objects/info", "/refs/heads", "/refs/tags"}) {
    fs::create_directories(host_dir + sub, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", host_dir, sub, ": ", ec.message()));
  }
  std::string source_objects = fs::weakly_canonical(source_git_dir + "/objects").string();
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {"/HEAD", "ref: refs/heads/main\n"},
           {"/config", "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"},
           {"/objects/info/alternates", source_objects + "\n"}}) {
    std::ofstream out(host_dir + file);
    out << text;
    out.close();
    if (!out) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", host_dir, file));
  }
  object_dirs_.push_back(source_objects);
  for (const auto& alt : ReadAlternates(source_objects)) object_dirs_.push_back(alt);
  return absl::OkStatus();
}

absl::Status Workspace::Ignore(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::OkStatus();
  ignored_.insert(ignored_.end(), paths.begin(), paths.end());
  std::string file = dir_ + "/host.git/info/exclude";
  std::error_code ec;
  fs::create_directories(dir_ + "/host.git/info", ec);
  std::ofstream out(file, std::ios::app);
  for (const std::string& path : paths) {
    // Anchored at the root, every character literal.
    std::string pattern = "/";
    for (char c : path) {
      if (c == '*' || c == '?' || c == '[' || c == '\\' || c == '!' || c == '#' || c == ' ') pattern.push_back('\\');
      pattern.push_back(c);
    }
    out << pattern << "\n";
  }
  out.close();
  if (!out) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", file));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::CreateOverlay(const std::string& source_git_dir,
                                                                    std::shared_ptr<const BaseCheckouts::Checkout> lower,
                                                                    const std::string& dir,
                                                                    const BaseCheckouts::HandOver& hand_over,
                                                                    const WorkspaceLimits& limits,
                                                                    const std::string& mount_place) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return absl::AlreadyExistsError(absl::StrCat("workspace ", dir, " exists"));
  const std::string name = fs::path(dir).filename().string();
  std::string root = mount_place.empty() ? "" : mount_place + "/" + name;
  std::unique_ptr<Workspace> ws(new Workspace(dir, lower->commit, /*keep=*/false, limits, root));
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  // The layer, where every write of the agent lands, holds at most its limits while the agent runs
  // (a tmpfs of its own: overlay_mount.h), where the workspaces are in RAM anyway.
  std::string layer = dir;
  const LayerLimits layer_limits = LayerLimitsFor(limits.max_growth);
  if ((layer_limits.bytes > 0 || layer_limits.inodes > 0) && OnTmpfs(dir)) {
    const std::string at = mount_place.empty() ? dir + "/layer" : mount_place + "/" + name + ".layer";
    absl::StatusOr<std::unique_ptr<LayerFs>> made = LayerFs::Mount(at, layer_limits);
    if (!made.ok()) return made.status();
    ws->layer_fs_ = *std::move(made);
    layer = ws->layer_fs_->path();
  }
  ws->upper_ = layer + "/upper";
  for (const std::string& d : {ws->upper_, layer + "/overlay-work", ws->root_}) {
    fs::create_directories(d, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", d, ": ", ec.message()));
  }
  // The merged root takes the upper layer's owner: the sandbox's user must be able to write there.
  if (hand_over) {
    if (absl::Status st = hand_over(ws->upper_); !st.ok()) return st;
  }
  if (absl::Status st = MountOverlay(lower->layers, ws->upper_, layer + "/overlay-work", ws->root_); !st.ok()) return st;
  ws->mounted_ = true;
  if (ws->layer_fs_ != nullptr) {
    if (absl::Status st = ws->layer_fs_->Detach(); !st.ok()) return st;
    ws->upper_ = ws->layer_fs_->path() + "/upper";
  }
  ws->mount_place_ = mount_place;
  ws->lower_ = std::move(lower);
  if (absl::Status st = ws->InitHostRepository(source_git_dir); !st.ok()) return st;
  return ws;
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Create(const std::string& source_git_dir,
                                                             const std::string& base,
                                                             const std::string& dir, bool keep,
                                                             const WorkspaceLimits& limits,
                                                             const std::string& mount_place) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return absl::AlreadyExistsError(absl::StrCat("workspace ", dir, " exists"));
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const LayerLimits growth = LayerLimitsFor(limits.max_growth);
  const bool own_fs = !keep && !mount_place.empty() && InPrivateMountNamespace() &&
                      (growth.bytes > 0 || growth.inodes > 0) && OnTmpfs(dir);
  std::string root = own_fs ? mount_place + "/" + fs::path(dir).filename().string() : "";
  std::unique_ptr<Workspace> ws(new Workspace(dir, base, keep, limits, root));
  if (own_fs) {
    ws->mount_place_ = mount_place;
    absl::StatusOr<std::unique_ptr<LayerFs>> made = LayerFs::Mount(ws->root_, LayerLimits{});
    if (!made.ok()) return made.status();
    ws->layer_fs_ = *std::move(made);
  }

  if (absl::Status st = CloneAt(source_git_dir, base, ws->root_); !st.ok()) return st;

  // The host's own repository: same objects (through alternates), an index the agent cannot reach.
  if (absl::Status st = ws->InitHostRepository(source_git_dir); !st.ok()) return st;
  if (limits.max_growth.bytes > 0 || limits.max_growth.entries > 0) {
    absl::StatusOr<TreeUsage> usage = MeasureTree(ws->root_, TreeUsage{~0ull, ~0ull});
    if (!usage.ok()) return usage.status();
    ws->checked_out_ = *usage;
  }
  if (ws->layer_fs_ != nullptr) {
    // The checkout is in: from now on the tree may grow by the limits, and no more.
    if (absl::Status st = ws->layer_fs_->LimitGrowth(growth); !st.ok()) return st;
  }
  return ws;
}

ThrowawayTree::~ThrowawayTree() {
  if (mounted_) UnmountOverlay(root_);  // mount points stay until the run ends (overlay_mount.h)
  layer_fs_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

absl::StatusOr<std::unique_ptr<ThrowawayTree>> Workspace::MakeThrowaway(const std::string& dir,
                                                                       const BaseCheckouts::HandOver& hand_over) const {
  if (!mounted_ && layer_fs_ == nullptr) return absl::UnimplementedError("a cloned workspace has no throwaway view: copy it");
  std::error_code ec;
  if (fs::exists(dir, ec)) return absl::AlreadyExistsError(absl::StrCat(dir, " exists"));
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  // Mount points named after the workspace and the view: unique on the host, reused by the next view.
  const std::string name = fs::path(dir_).filename().string() + "." + fs::path(dir).filename().string();
  const std::string place = mount_place_.empty() ? dir : mount_place_ + "/" + name;
  if (!mounted_) {
    // A clone on a capped file system of its own: the copy goes on one too, capped the same way.
    if (absl::Status st = CheckGrowth(); !st.ok()) return st;  // copied by this process, past no limit
    std::unique_ptr<ThrowawayTree> copy(new ThrowawayTree(dir, place));
    // Capped before the copy, at what the work tree holds plus the growth allowed: a sparse file
    // that costs the work tree nothing costs the copy every page, and stops it.
    absl::StatusOr<std::unique_ptr<LayerFs>> made =
        LayerFs::Mount(place, GrownBy(layer_fs_->Used(), LayerLimitsFor(limits_.max_growth)));
    if (!made.ok()) return made.status();
    copy->layer_fs_ = *std::move(made);
    fs::copy(root_, place, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return absl::ResourceExhaustedError(absl::StrCat("cannot copy the workspace: ", ec.message()));
    if (hand_over) {
      if (absl::Status st = hand_over(place); !st.ok()) return st;
    }
    return copy;
  }
  std::unique_ptr<ThrowawayTree> view(new ThrowawayTree(dir, mount_place_.empty() ? dir + "/root" : place));
  std::string layer = dir;
  const LayerLimits layer_limits = LayerLimitsFor(limits_.max_growth);
  if ((layer_limits.bytes > 0 || layer_limits.inodes > 0) && OnTmpfs(dir)) {
    const std::string at = mount_place_.empty() ? dir + "/layer" : place + ".layer";
    absl::StatusOr<std::unique_ptr<LayerFs>> made = LayerFs::Mount(at, layer_limits);
    if (!made.ok()) return made.status();
    view->layer_fs_ = *std::move(made);
    layer = view->layer_fs_->path();
  }
  for (const std::string& d : {layer + "/upper", layer + "/overlay-work", view->root_}) {
    fs::create_directories(d, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", d, ": ", ec.message()));
  }
  if (hand_over) {
    if (absl::Status st = hand_over(layer + "/upper"); !st.ok()) return st;
  }
  // Stacked on the merged work tree (overlayfs allows one level of that), so the view is the tree
  // with every change the agent made, and the workspace's own layers stay untouched.
  if (absl::Status st = MountOverlay({root_}, layer + "/upper", layer + "/overlay-work", view->root_); !st.ok()) {
    return st;
  }
  view->mounted_ = true;
  if (view->layer_fs_ != nullptr) {
    if (absl::Status st = view->layer_fs_->Detach(); !st.ok()) return st;
  }
  return view;
}

absl::Status Workspace::GrewPastLimits() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("the workspace grew past its limits (--max-workspace-mb ", limits_.max_growth.bytes >> 20,
                   ", --max-workspace-files ", limits_.max_growth.entries, ") while the command ran: it was stopped"));
}

absl::Status Workspace::CheckFull() const {
  if (layer_fs_ == nullptr || !layer_fs_->Full()) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the workspace reached its limits (--max-workspace-mb ", limits_.max_growth.bytes >> 20,
      ", --max-workspace-files ", limits_.max_growth.entries,
      "): writes past them failed with 'No space left on device'"));
}

std::optional<GrowthCap> Workspace::UncappedGrowth() const {
  if ((limits_.max_growth.bytes == 0 && limits_.max_growth.entries == 0) || layer_fs_ != nullptr) return std::nullopt;
  return GrowthCap{mounted_ ? upper_ : root_, LimitAfterGrowth(checked_out_, limits_.max_growth)};
}

std::optional<GrowthCap> Workspace::UncappedGrowthOfCopy(const std::string& copy) const {
  if ((limits_.max_growth.bytes == 0 && limits_.max_growth.entries == 0) || layer_fs_ != nullptr) return std::nullopt;
  absl::StatusOr<TreeUsage> now = MeasureTree(copy, TreeUsage{~0ull, ~0ull});
  if (!now.ok()) return std::nullopt;
  return GrowthCap{copy, LimitAfterGrowth(*now, limits_.max_growth)};
}

absl::Status Workspace::CheckGrowth() const {
  if (limits_.max_growth.bytes == 0 && limits_.max_growth.entries == 0) return absl::OkStatus();
  // An overlay's growth is its upper layer: what the agent wrote (a changed file counts whole).
  // Walks at most the limit's worth of the tree: millions of files cost no more than the limit.
  const TreeUsage stop = LimitAfterGrowth(checked_out_, limits_.max_growth);
  absl::StatusOr<TreeUsage> usage = MeasureTree(mounted_ ? upper_ : root_, stop);
  if (!usage.ok()) return usage.status();
  const bool full = layer_fs_ != nullptr && layer_fs_->Full();
  if (!usage->Exceeds(stop) && !full) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the workspace grew past its limits (--max-workspace-mb ", limits_.max_growth.bytes >> 20,
      ", --max-workspace-files ", limits_.max_growth.entries, "): ",
      full ? "its layer is full and writes past it failed with 'No space left on device'; " : "",
      "at least ", usage->bytes > checked_out_.bytes ? (usage->bytes - checked_out_.bytes) >> 20 : 0, " MiB and ",
      usage->entries > checked_out_.entries ? usage->entries - checked_out_.entries : 0,
      " files more than the checkout"));
}

absl::StatusOr<std::optional<std::vector<std::string>>> Workspace::ChangedPaths() const {
  if (!mounted_) return std::optional<std::vector<std::string>>();
  absl::StatusOr<std::vector<std::string>> changes = UpperChanges(upper_);
  if (!changes.ok()) return changes.status();
  return std::optional<std::vector<std::string>>(std::move(*changes));
}

absl::StatusOr<Patch> Workspace::ComputePatch() const {
  // Measured before git hashes anything.
  if (absl::Status st = CheckGrowth(); !st.ok()) return st;
  Git host = Git::AtGitDir(dir_ + "/host.git", root_);
  GitOptions index;
  index.index_file = dir_ + "/host.index";
  std::error_code ec;
  fs::remove(index.index_file, ec);
  absl::StatusOr<std::optional<std::vector<std::string>>> changed = ChangedPaths();
  if (!changed.ok()) return changed.status();
  Patch patch;
  patch.base = base_;
  absl::StatusOr<std::string> base_tree = TreeOfCommit(host, base_);
  if (!base_tree.ok()) return base_tree.status();
  if (changed->has_value() && (*changed)->empty()) {  // the layer holds nothing: no git work at all
    patch.tree = TrimNewline(*base_tree);
    return patch;
  }
  if (auto r = host.Run({"read-tree", base_}, index); !r.ok()) return r.status();
  if (changed->has_value()) {
    // Only what the layer changed, as `git add --all` sees it (so .gitignore is honoured and a
    // whiteout stages a deletion): the rest of the tree is the base's, untouched and unread.
    // A path named outright that .gitignore ignores (and the base does not track) makes `git add`
    // fail; `git add --all .` passes over it, so it is passed over here too.
    GitOptions paths = index;  // check-ignore reads paths, not pathspecs
    for (const auto& p : **changed) absl::StrAppend(&paths.stdin_data, p, std::string(1, '\0'));
    absl::StatusOr<ProcessResult> ignored = host.RunRaw({"check-ignore", "-z", "--stdin"}, paths);
    if (!ignored.ok()) return ignored.status();
    if (ignored->exit_code > 1) return absl::InternalError("git check-ignore failed: " + ignored->err);
    std::set<std::string> skip;
    for (absl::string_view p : absl::StrSplit(ignored->out, '\0', absl::SkipEmpty())) skip.emplace(p);
    std::string list = dir_ + "/changed-paths";
    std::ofstream out(list, std::ios::binary | std::ios::trunc);
    int listed = 0;
    for (const auto& p : **changed) {
      if (skip.count(p)) continue;
      out << p << '\0';
      ++listed;
    }
    out.close();
    if (!out) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", list));
    GitOptions literal = index;
    literal.env.push_back("GIT_LITERAL_PATHSPECS=1");
    if (listed > 0) {
      if (auto r = host.Run({"add", "--all", "--pathspec-from-file=" + list, "--pathspec-file-nul"}, literal);
          !r.ok()) {
        return r.status();
      }
    }
  } else if (auto r = host.Run({"add", "--all", "--", "."}, index); !r.ok()) {
    return r.status();
  }
  if (!ignored_.empty()) {
    GitOptions literal = index;
    literal.env.push_back("GIT_LITERAL_PATHSPECS=1");
    std::vector<std::string> args = {"rm", "--cached", "-q", "-r", "--ignore-unmatch", "--"};
    args.insert(args.end(), ignored_.begin(), ignored_.end());
    if (auto r = host.Run(args, literal); !r.ok()) return r.status();
  }
  absl::StatusOr<std::string> tree = host.Run({"write-tree"}, index);
  if (!tree.ok()) return tree.status();
  patch.tree = TrimNewline(*tree);
  patch.empty = TrimNewline(*base_tree) == patch.tree;
  if (patch.empty) return patch;

  // Refuse what cannot be a patch to the repository: links out of it or into .git, nested repositories.
  absl::StatusOr<std::vector<PatchEntry>> entries = ListPatchEntries(host, base_, patch.tree);
  if (!entries.ok()) return entries.status();
  if (absl::Status st = CheckPatchEntries(*entries); !st.ok()) return st;
  GitOptions capped;
  capped.output_cap = limits_.max_patch_bytes > 0 ? limits_.max_patch_bytes : 0;
  absl::StatusOr<std::string> diff =
      host.Run({"diff", "--binary", "--full-index", "--no-renames", "--no-color", base_, patch.tree}, capped);
  if (absl::IsResourceExhausted(diff.status())) {
    return absl::ResourceExhaustedError(absl::StrCat("the patch is larger than --max-patch-mb ",
                                                     limits_.max_patch_bytes >> 20, " (large or binary files?)"));
  }
  if (!diff.ok()) return diff.status();
  if (absl::Status st = CheckPatchGrowth(host, *entries, limits_.patch, &*diff); !st.ok()) return st;
  patch.diff = std::move(*diff);
  return patch;
}

}  // namespace swarm
