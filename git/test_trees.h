// Trees for test runs that cost what differs, not the repository: a read-only checkout of a recent
// tree (the lower layer), shared by every test run, and per run a writable layer holding only the
// candidate's differences from it (changed files written, deleted ones whited out), mounted as an
// overlay. What a test writes lands in its own layer and goes with it. When a candidate differs from
// the shared checkout by more than `max_delta` paths (the head has moved on), a checkout of that
// candidate becomes the new shared one: a moving head costs one checkout per `max_delta` changed
// paths, not one per candidate. A candidate that changes a .gitattributes gets a checkout of its own
// too: attributes (eol, ident, filters) apply to files the delta would not rewrite. Needs a mount namespace of the process's own (overlay_mount.h).
// Thread-safe.
#ifndef SWARM_GIT_TEST_TREES_H_
#define SWARM_GIT_TEST_TREES_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/statusor.h"
#include "git/git.h"
#include "sandbox/overlay_mount.h"

namespace swarm {

// One test run's tree, mounted at root(); unmounted and removed on destruction.
class TestTree final {
 public:
  ~TestTree();
  TestTree(const TestTree&) = delete;
  TestTree& operator=(const TestTree&) = delete;
  const std::string& root() const { return root_; }
  const std::string& upper() const { return upper_; }
  // Whether its layer is a file system of its own, sized to what the test may write.
  bool capped() const { return layer_fs_ != nullptr; }

 private:
  friend class TestTrees;
  struct Lower;
  TestTree(std::string dir, std::string root);
  const std::string dir_, root_;
  std::unique_ptr<LayerFs> layer_fs_;  // the upper layer's own file system, if it has one
  std::string upper_;
  std::shared_ptr<const Lower> lower_;  // held while mounted
  bool mounted_ = false;
};

class TestTrees final {
 public:
  using HandOver = std::function<absl::Status(const std::string& dir)>;

  // Checkouts of `repo`'s trees go under `root`; `hand_over` gives a tree to the sandbox's user.
  // Trees are mounted in `mount_place` (mount points kept until the run ends: overlay_mount.h; empty: in each run's directory).
  // Where `root` is a tmpfs, each run's layer is a tmpfs of its own: the candidate's delta, then at
  // most `layer_limits` more (0: no limit) of what the test writes; a test that fills it gets ENOSPC.
  TestTrees(Git repo, std::string root, HandOver hand_over, int max_delta = 256, std::string mount_place = "",
            LayerLimits layer_limits = {});
  ~TestTrees();

  // `tree` at `dir` (which must not exist), writable, for one test run.
  absl::StatusOr<std::unique_ptr<TestTree>> Make(const std::string& tree, const std::string& dir);

  int checkouts() const;  // shared checkouts made so far

 private:
  absl::StatusOr<std::shared_ptr<const TestTree::Lower>> Checkout(const std::string& tree);
  // Writes into `upper` what turns `from` into `to`: changed files, and whiteouts for deletions.
  // Returns false (and writes nothing) when more than max_delta paths differ.
  absl::StatusOr<bool> WriteDelta(const std::string& from, const std::string& to, const std::string& upper);

  const Git repo_;
  const std::string root_;
  const HandOver hand_over_;
  const int max_delta_;
  const std::string mount_place_;
  const LayerLimits layer_limits_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TestTree::Lower> current_ ABSL_GUARDED_BY(mu_);
  int checkouts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace swarm

#endif  // SWARM_GIT_TEST_TREES_H_
