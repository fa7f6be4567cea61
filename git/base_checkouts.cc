#include "git/base_checkouts.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "base/check.h"
#include "git/git.h"
#include "sandbox/overlay_mount.h"

namespace swarm {
namespace fs = std::filesystem;

BaseCheckouts::Checkout::~Checkout() {
  EmptyAndRemove(dir);  // nothing holds it or a layer over it any more (but sandboxes' copies may)
}

BaseCheckouts::BaseCheckouts(std::string source_git_dir, std::string root, HandOver hand_over, int keep_idle,
                             int max_layers, std::string mount_place)
    : source_git_dir_(std::move(source_git_dir)),
      root_(std::move(root)),
      hand_over_(std::move(hand_over)),
      keep_idle_(std::max(0, keep_idle)),
      max_layers_(std::max(1, max_layers)),
      mount_place_(std::move(mount_place)) {}

BaseCheckouts::~BaseCheckouts() = default;  // each checkout goes with its last holder

int BaseCheckouts::made() const {
  absl::MutexLock lock(&mu_);
  return made_;
}

int BaseCheckouts::full() const {
  absl::MutexLock lock(&mu_);
  return full_;
}

absl::StatusOr<std::shared_ptr<const BaseCheckouts::Checkout>> BaseCheckouts::MakeFull(const std::string& commit,
                                                                                       const std::string& dir) {
  auto c = std::make_shared<Checkout>();
  c->commit = commit;
  c->dir = dir;  // removed with `c` if what follows fails
  c->layers = {dir + "/tree"};
  if (absl::Status st = CloneAt(source_git_dir_, commit, dir + "/tree"); !st.ok()) return st;
  if (hand_over_) {
    if (absl::Status st = hand_over_(dir + "/tree"); !st.ok()) return st;
  }
  return std::shared_ptr<const Checkout>(std::move(c));
}

absl::StatusOr<std::shared_ptr<const BaseCheckouts::Checkout>> BaseCheckouts::MakeLayer(
    const std::string& commit, const std::string& dir, std::shared_ptr<const Checkout> below) {
  auto c = std::make_shared<Checkout>();
  c->commit = commit;
  c->dir = dir;
  const std::string layer = dir + "/layer", work = dir + "/overlay-work";
  const std::string merged =
      mount_place_.empty() ? dir + "/merged" : mount_place_ + "/" + fs::path(dir).filename().string();
  for (const std::string& d : {layer, work, merged}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", d, ": ", ec.message()));
  }
  // `git checkout` rewrites only files whose content changed: attributes (eol, ident, filters) that
  // change would leave the others as the old ones checked out. Such a base gets a full checkout.
  Git source = Git::AtGitDir(source_git_dir_);
  absl::StatusOr<std::string> changed = source.Run({"diff-tree", "-r", "--name-only", "-z", below->commit, commit});
  if (!changed.ok()) return changed.status();
  for (absl::string_view path : absl::StrSplit(*changed, '\0', absl::SkipEmpty())) {
    if (IsAttributesFile(path)) {
      return absl::FailedPreconditionError("the attributes changed: a full checkout");
    }
  }
  // `git checkout` of the new commit through an overlay on the one below: what it writes (the files
  // that differ, whiteouts for the ones it deletes, the index, HEAD) is the new layer.
  if (absl::Status st = MountOverlay(below->layers, layer, work, merged); !st.ok()) return st;
  Git git = Git::AtGitDir(merged + "/.git", merged);
  absl::StatusOr<std::string> r = git.Run({"checkout", "--quiet", "--detach", "--force", commit});
  UnmountOverlay(merged);  // its mount point stays until the run ends (overlay_mount.h)
  if (!r.ok()) return r.status();
  if (hand_over_) {
    if (absl::Status st = hand_over_(layer); !st.ok()) return st;
  }
  c->layers = {layer};
  c->layers.insert(c->layers.end(), below->layers.begin(), below->layers.end());
  c->below = std::move(below);
  return std::shared_ptr<const Checkout>(std::move(c));
}

absl::StatusOr<std::shared_ptr<const BaseCheckouts::Checkout>> BaseCheckouts::Acquire(const std::string& commit) {
  std::string dir;
  std::shared_ptr<const Checkout> below;
  {
    absl::MutexLock lock(&mu_);
    for (;;) {
      auto it = entries_.find(commit);
      if (it == entries_.end()) {
        entries_[commit].making = true;  // this caller makes it; the others wait
        dir = absl::StrCat(root_, "/base-", next_++);
        if (newest_ != nullptr && static_cast<int>(newest_->layers.size()) < max_layers_) below = newest_;
        break;
      }
      if (it->second.making) {
        made_cv_.Wait(&mu_);
        continue;  // made, or failed and erased: look again
      }
      if (it->second.users++ == 0) idle_.remove(commit);
      break;
    }
  }
  std::shared_ptr<const Checkout> superseded;
  if (!dir.empty()) {
    // Made outside the lock: attempts on other commits go on meanwhile.
    absl::StatusOr<std::shared_ptr<const Checkout>> made = below ? MakeLayer(commit, dir, below) : MakeFull(commit, dir);
    if (!made.ok() && below) made = MakeFull(commit, dir + "-full");  // a layer that failed: start afresh
    absl::MutexLock lock(&mu_);
    made_cv_.SignalAll();
    if (!made.ok()) {
      entries_.erase(commit);
      std::error_code ec;
      fs::remove_all(dir, ec);
      return made.status();
    }
    Entry& e = entries_[commit];
    e.making = false;
    e.checkout = *made;
    e.users = 1;
    superseded = std::move(newest_);  // let go after the lock: it may be the last hold on a stack
    newest_ = *made;
    ++made_;
    if ((*made)->below == nullptr) ++full_;
  }
  std::shared_ptr<const Checkout> held;
  {
    absl::MutexLock lock(&mu_);
    held = MustFind(entries_, commit, "an acquired base checkout").checkout;
  }
  // The caller's copy releases the commit when its last copy goes.
  return std::shared_ptr<const Checkout>(held.get(), [this, commit, held](const Checkout*) { Release(commit); });
}

void BaseCheckouts::Release(const std::string& commit) {
  std::vector<std::shared_ptr<const Checkout>> doomed;  // removed outside the lock: a tree is slow to remove
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(commit);
    if (it == entries_.end()) return;
    if (--it->second.users > 0) return;
    idle_.push_back(commit);
    while (static_cast<int>(idle_.size()) > keep_idle_) {
      auto old = entries_.find(idle_.front());
      idle_.pop_front();
      if (old == entries_.end() || old->second.users > 0 || !old->second.checkout) continue;
      doomed.push_back(std::move(old->second.checkout));  // its directory goes when no layer needs it
      entries_.erase(old);
    }
  }
}

}  // namespace swarm
