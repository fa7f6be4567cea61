#include "git/test_trees.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "sandbox/overlay_mount.h"

namespace swarm {
namespace fs = std::filesystem;

struct TestTree::Lower {
  std::string tree;
  std::string dir;
  ~Lower() {
    EmptyAndRemove(dir);  // the last test run on it has ended (sandboxes' copies may hold it still)
  }
};

TestTree::TestTree(std::string dir, std::string root)
    : dir_(std::move(dir)), root_(root.empty() ? dir_ + "/root" : std::move(root)), upper_(dir_ + "/upper") {}

TestTree::~TestTree() {
  std::error_code ec;
  if (mounted_) UnmountOverlay(root_);  // its mount point stays until the run ends (overlay_mount.h)
  layer_fs_.reset();  // after the overlay above it
  fs::remove_all(dir_, ec);
}

TestTrees::TestTrees(Git repo, std::string root, HandOver hand_over, int max_delta, std::string mount_place,
                     LayerLimits layer_limits)
    : repo_(std::move(repo)),
      root_(std::move(root)),
      hand_over_(std::move(hand_over)),
      max_delta_(max_delta),
      mount_place_(std::move(mount_place)),
      layer_limits_(layer_limits) {}

TestTrees::~TestTrees() = default;  // each shared checkout goes with its last user

int TestTrees::checkouts() const {
  absl::MutexLock lock(&mu_);
  return checkouts_;
}

absl::StatusOr<std::shared_ptr<const TestTree::Lower>> TestTrees::Checkout(const std::string& tree) {
  std::string dir;
  {
    absl::MutexLock lock(&mu_);
    dir = absl::StrCat(root_, "/lower-", checkouts_++);
  }
  auto lower = std::make_shared<TestTree::Lower>();
  lower->tree = tree;
  lower->dir = dir;  // removed with `lower` if what follows fails
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  TempIndex index(repo_.git_dir());
  GitOptions opts;
  opts.index_file = index.path();
  opts.work_tree = dir;
  if (auto r = repo_.Run({"read-tree", tree}, opts); !r.ok()) return r.status();
  if (auto r = repo_.Run({"checkout-index", "--all", "--force"}, opts); !r.ok()) return r.status();
  if (hand_over_) {
    if (absl::Status st = hand_over_(dir); !st.ok()) return st;
  }
  return std::shared_ptr<const TestTree::Lower>(std::move(lower));
}

absl::StatusOr<bool> TestTrees::WriteDelta(const std::string& from, const std::string& to, const std::string& upper) {
  // -t: trees too, so that a directory that goes is whited out whole (no empty directory is left
  // where a full checkout has none).
  absl::StatusOr<std::string> diff = repo_.Run({"diff-tree", "-r", "-t", "-z", "--no-renames", from, to});
  if (!diff.ok()) return diff.status();
  // Records of ":OLDMODE NEWMODE OLD NEW STATUS\0PATH\0".
  std::vector<std::string> fields = absl::StrSplit(*diff, '\0', absl::SkipEmpty());
  std::set<std::string> written, deleted, deleted_trees;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& meta = fields[i];
    const std::string& path = fields[i + 1];
    const bool old_tree = meta.rfind(":040000 ", 0) == 0;
    const bool new_tree = meta.size() > 14 && meta.compare(8, 7, "040000 ") == 0;
    // What the attributes say (eol, ident, filters) applies to files the delta does not touch.
    if (IsAttributesFile(path)) return false;
    if (!meta.empty() && meta.back() == 'D') {
      (old_tree ? deleted_trees : deleted).insert(path);
    } else if (!new_tree) {
      written.insert(path);
    }
  }
  if (static_cast<int>(written.size() + deleted.size()) > max_delta_) return false;
  // Below a path that is now a file, or a directory that went whole, nothing needs a whiteout.
  auto covered = [&](const std::string& path) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      const std::string parent = path.substr(0, slash);
      if (written.count(parent) || deleted_trees.count(parent)) return true;
    }
    return false;
  };
  for (const std::string& tree : deleted_trees) deleted.insert(tree);
  std::error_code ec;
  for (const std::string& path : deleted) {
    if (written.count(path) || covered(path)) continue;
    const std::string at = upper + "/" + path;
    fs::create_directories(fs::path(at).parent_path(), ec);
    if (mknod(at.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("cannot white out ", path, " in a test tree: ", strerror(errno)));
    }
  }
  for (const std::string& path : written) {
    // A whiteout where a directory must now be (a file that became one), or a directory of
    // whiteouts where a file must now be (a directory that became one), gives way.
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      const std::string parent = upper + "/" + path.substr(0, slash);
      struct stat st;
      if (lstat(parent.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) fs::remove(parent, ec);
    }
    const std::string at = upper + "/" + path;
    struct stat st;
    if (lstat(at.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fs::remove_all(at, ec);
  }
  if (written.empty()) return true;
  TempIndex index(repo_.git_dir());
  GitOptions opts;
  opts.index_file = index.path();
  if (auto r = repo_.Run({"read-tree", to}, opts); !r.ok()) return r.status();
  for (const std::string& path : written) absl::StrAppend(&opts.stdin_data, path, std::string(1, '\0'));
  opts.work_tree = upper;
  if (auto r = repo_.Run({"checkout-index", "--force", "-z", "--stdin"}, opts); !r.ok()) return r.status();
  return true;
}

absl::StatusOr<std::unique_ptr<TestTree>> TestTrees::Make(const std::string& tree, const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return absl::AlreadyExistsError(absl::StrCat("test tree ", dir, " exists"));
  std::shared_ptr<const TestTree::Lower> lower;
  {
    absl::MutexLock lock(&mu_);
    lower = current_;
  }
  const std::string name = fs::path(dir).filename().string();
  const std::string mount_point = mount_place_.empty() ? "" : mount_place_ + "/" + name;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::unique_ptr<TestTree> t(new TestTree(dir, mount_point));
  std::string layer = dir;
  if ((layer_limits_.bytes > 0 || layer_limits_.inodes > 0) && OnTmpfs(dir)) {
    const std::string at = mount_place_.empty() ? dir + "/layer" : mount_place_ + "/" + name + ".layer";
    // Capped once the candidate's delta is in: the limits are what the test may write.
    absl::StatusOr<std::unique_ptr<LayerFs>> made = LayerFs::Mount(at, LayerLimits{});
    if (!made.ok()) return made.status();
    t->layer_fs_ = *std::move(made);
    layer = t->layer_fs_->path();
    t->upper_ = layer + "/upper";
  }
  const std::string work = layer + "/overlay-work";
  for (const std::string& d : {t->upper_, work, t->root_}) {
    fs::create_directories(d, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", d, ": ", ec.message()));
  }
  bool fits = lower != nullptr;
  if (fits && lower->tree != tree) {
    absl::StatusOr<bool> wrote = WriteDelta(lower->tree, tree, t->upper_);
    if (!wrote.ok()) return wrote.status();
    fits = *wrote;
  }
  if (!fits) {
    // No shared checkout yet, or the head has moved too far from it: this tree becomes the new one.
    fs::remove_all(t->upper_, ec);
    fs::create_directories(t->upper_, ec);
    absl::StatusOr<std::shared_ptr<const TestTree::Lower>> made = Checkout(tree);
    if (!made.ok()) return made.status();
    lower = *made;
    absl::MutexLock lock(&mu_);
    current_ = lower;
  }
  if (t->layer_fs_ != nullptr) {
    if (absl::Status st = t->layer_fs_->LimitGrowth(layer_limits_); !st.ok()) return st;
  }
  if (hand_over_) {
    if (absl::Status st = hand_over_(t->upper_); !st.ok()) return st;
  }
  if (absl::Status st = MountOverlay({lower->dir}, t->upper_, work, t->root_); !st.ok()) return st;
  t->mounted_ = true;
  if (t->layer_fs_ != nullptr) {
    if (absl::Status st = t->layer_fs_->Detach(); !st.ok()) return st;
    t->upper_ = t->layer_fs_->path() + "/upper";
  }
  t->lower_ = std::move(lower);
  return t;
}

}  // namespace swarm
