// Read-only checkouts of the commits that attempts start from, one per commit, shared by every
// attempt on it as the lower layer of its overlay workspace (workspace.h). A checkout is made once,
// on first use (callers for the same commit wait for that one), kept while an attempt holds it, and
// the most recently used idle ones are kept for the next attempts (the integration head moves, but
// many attempts start from each head). Thread-safe.
#ifndef SWARM_GIT_BASE_CHECKOUTS_H_
#define SWARM_GIT_BASE_CHECKOUTS_H_

#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace swarm {

class BaseCheckouts final {
 public:
  using HandOver = std::function<absl::Status(const std::string& dir)>;

  // Checkouts of `source_git_dir`'s commits are made under `root` (created if missing) and given to
  // the sandbox's user with `hand_over`. At most `keep_idle` unused checkouts are kept.
  BaseCheckouts(std::string source_git_dir, std::string root, HandOver hand_over, int keep_idle = 4);
  ~BaseCheckouts();  // removes every checkout; none may be held any more
  BaseCheckouts(const BaseCheckouts&) = delete;
  BaseCheckouts& operator=(const BaseCheckouts&) = delete;

  struct Checkout {
    std::string commit;
    std::string dir;  // the work tree, with its own .git (a shared clone of the source)
  };
  // The checkout of `commit`, made if need be; held until the last copy of the pointer is dropped.
  absl::StatusOr<std::shared_ptr<const Checkout>> Acquire(const std::string& commit);

  int made() const;  // checkouts made so far (for tests and the benchmark)

 private:
  struct Entry {
    std::shared_ptr<Checkout> checkout;  // null while being made
    int users = 0;
    bool making = false;
  };
  void Release(const std::string& commit);
  void EvictLocked(std::vector<std::string>& doomed);  // fills `doomed` with dirs to remove

  const std::string source_git_dir_;
  const std::string root_;
  const HandOver hand_over_;
  const int keep_idle_;
  mutable std::mutex mu_;
  std::condition_variable made_cv_;
  std::map<std::string, Entry> entries_;  // guarded by mu_; by commit
  std::list<std::string> idle_;           // guarded by mu_; unused commits, most recent last
  int made_ = 0;                          // guarded by mu_
  int next_ = 0;                          // guarded by mu_; names checkout directories
};

}  // namespace swarm

#endif  // SWARM_GIT_BASE_CHECKOUTS_H_
