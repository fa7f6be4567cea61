// Read-only checkouts of the commits that attempts start from, one per commit, shared by every
// attempt on it as the lower layers of its overlay workspace (workspace.h). A checkout is made once,
// on first use (callers for the same commit wait for that one), kept while an attempt holds it, and
// the most recently used idle ones are kept for the next attempts.
//
// The integration head moves as patches land, so attempts start from many commits. Only the first
// checkout is a full one: the next is a layer over the last one made, written by `git checkout` of
// the new commit through an overlay (only the files that differ, whiteouts for deletions, the
// index), so a moving head costs what changed between heads, not the repository. A stack deeper than
// `max_layers` is flattened by a full checkout. A checkout keeps the ones below it alive. Needs a
// mount namespace of the process's own (overlay_mount.h). Thread-safe.
#ifndef SWARM_GIT_BASE_CHECKOUTS_H_
#define SWARM_GIT_BASE_CHECKOUTS_H_

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace swarm {

class BaseCheckouts final {
 public:
  using HandOver = std::function<absl::Status(const std::string& dir)>;

  // Checkouts of `source_git_dir`'s commits are made under `root` (created if missing) and given to
  // the sandbox's user with `hand_over`. At most `keep_idle` unused checkouts are kept.
  // Layers are written through overlays mounted in `mount_place` (mount points kept until the run ends: overlay_mount.h; empty: beside them).
  BaseCheckouts(std::string source_git_dir, std::string root, HandOver hand_over, int keep_idle = 4,
                int max_layers = 8, std::string mount_place = "");
  const std::string& mount_place() const { return mount_place_; }
  ~BaseCheckouts();  // none may be held any more
  BaseCheckouts(const BaseCheckouts&) = delete;
  BaseCheckouts& operator=(const BaseCheckouts&) = delete;

  struct Checkout {
    std::string commit;
    std::vector<std::string> layers;  // overlay lower directories, the topmost first; the last is a full checkout
    std::shared_ptr<const Checkout> below;  // the checkout this one is a layer over; null for a full one
    std::string dir;                        // this checkout's own directory, removed with it
    ~Checkout();
  };
  // The checkout of `commit`, made if need be; held until the last copy of the pointer is dropped.
  absl::StatusOr<std::shared_ptr<const Checkout>> Acquire(const std::string& commit);

  int made() const;  // checkouts made so far, full or layered (for tests and the benchmark)
  int full() const;  // of those, full checkouts

 private:
  struct Entry {
    std::shared_ptr<const Checkout> checkout;  // null while being made
    int users = 0;
    bool making = false;
  };
  void Release(const std::string& commit);
  absl::StatusOr<std::shared_ptr<const Checkout>> MakeFull(const std::string& commit, const std::string& dir);
  absl::StatusOr<std::shared_ptr<const Checkout>> MakeLayer(const std::string& commit, const std::string& dir,
                                                           std::shared_ptr<const Checkout> below);

  const std::string source_git_dir_;
  const std::string root_;
  const HandOver hand_over_;
  const int keep_idle_;
  const int max_layers_;
  const std::string mount_place_;
  mutable absl::Mutex mu_;
  absl::CondVar made_cv_;  // signalled when an entry stops being made
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by commit
  std::list<std::string> idle_ ABSL_GUARDED_BY(mu_);           // unused commits, most recent last
  std::shared_ptr<const Checkout> newest_ ABSL_GUARDED_BY(mu_);  // the last one made: the next is a layer on it
  int made_ ABSL_GUARDED_BY(mu_) = 0;
  int full_ ABSL_GUARDED_BY(mu_) = 0;
  int next_ ABSL_GUARDED_BY(mu_) = 0;  // names checkout directories
};

}  // namespace swarm

#endif  // SWARM_GIT_BASE_CHECKOUTS_H_
