// The run's private bare repository under the state directory. It borrows the user's objects
// (alternates), holds every patch commit and candidate, and its integration ref is the authority for
// what landed. The user's repository only ever receives the final branch (Publish).
//
// Thread-safe: every method runs its own git processes; the compare-and-swap makes ref moves atomic.
#ifndef SWARM_GIT_INTEGRATION_REPO_H_
#define SWARM_GIT_INTEGRATION_REPO_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "git/git.h"

namespace swarm {

inline constexpr char kIntegrationRef[] = "refs/heads/integration";

// The integration ref of a lane: a run's one lane ("") is kIntegrationRef; lane L of a backlog is
// refs/heads/lanes/L (lane ids are checked names: [A-Za-z0-9._-], no "..").
std::string LaneRef(const std::string& lane);

// Who the run's commits are by (--author, --signoff). The committer is always swarm.
struct CommitAuthor {
  std::string name = "swarm";
  std::string email = "swarm@localhost";
  bool signoff = false;  // landing messages end with a Signed-off-by trailer of the author
};

// Whether `path` matches `glob`: a glob without '/' is matched against the file's name, one with '/'
// against the whole path ('*' then also crosses '/'), as fnmatch does.
bool PathMatches(const std::string& glob, const std::string& path);

class IntegrationRepo final {
 public:
  // Creates the repository at `git_dir` (which must not exist) with the integration ref at `base`.
  // Its commits are by `author`.
  static absl::StatusOr<std::unique_ptr<IntegrationRepo>> Create(const Git& user, const std::string& git_dir,
                                                                 const std::string& base, CommitAuthor author = {});
  // Opens one made by Create (for resume).
  static absl::StatusOr<std::unique_ptr<IntegrationRepo>> Open(const std::string& git_dir, CommitAuthor author = {});
  // Removes the lock files (HEAD.lock, refs/**/*.lock, packed-refs.lock, index.lock, ...) that a git
  // command killed half-way left in `git_dir`; with one there, every later ref update fails. Only for
  // a repository nothing else can be using: a resume, under the run lock, once its dead coordinator's
  // processes are gone (hosts and sandboxes killed from the ledger; its git commands died with it,
  // process.h). Returns how many were removed.
  static int RemoveStaleLocks(const std::string& git_dir);

  const Git& git() const { return git_; }
  const CommitAuthor& author() const { return author_; }
  absl::StatusOr<std::string> Head(const std::string& ref = kIntegrationRef) const;
  // Creates `ref` at `commit` unless it exists (a resumed run's lanes keep what landed on them).
  absl::Status CreateRefIfAbsent(const std::string& ref, const std::string& commit) const;

  // Applies `diff` to `base` in a private index and commits the result with parent `base`. Fails
  // with InvalidArgument when the diff does not apply or does not produce `expected_tree`.
  absl::StatusOr<std::string> CommitPatch(const std::string& base, const std::string& diff,
                                          const std::string& expected_tree, const std::string& message) const;
  // Three-way merge of `patch_commit` (whose parent is an ancestor of `onto`) into `onto`, without a
  // work tree. Returns the merged tree, or Aborted naming the conflicting paths.
  absl::StatusOr<std::string> MergeTree(const std::string& onto, const std::string& patch_commit) const;
  // After MergeTree reported a conflict: the conflicting files with their content and conflict markers,
  // as JSON {"head": ONTO, "files": [{"path": P, "content": TEXT}]} (each content cut at 64 KiB).
  absl::StatusOr<std::string> ConflictJson(const std::string& onto, const std::string& patch_commit) const;
  absl::StatusOr<std::string> CommitTree(const std::string& tree, const std::string& parent,
                                         const std::string& message) const;
  // Moves `ref` to `commit` only if it is at `expected_old`; Aborted otherwise.
  absl::Status CompareAndSwap(const std::string& commit, const std::string& expected_old,
                              const std::string& ref = kIntegrationRef) const;
  // The tree of `base` with only those changes of `commit` (whose parent is `base`) whose paths
  // match one of `globs` (PathMatches): a patch's new tests without its fix. NotFound when no
  // changed path matches.
  // `paths` (when given) receives the changed paths that matched.
  absl::StatusOr<std::string> TreeWithChangesTo(const std::string& base, const std::string& commit,
                                                const std::vector<std::string>& globs,
                                                std::vector<std::string>* paths = nullptr) const;
  // Writes the files of `tree` into the empty directory `dir` (a throwaway copy for a test run).
  absl::Status Materialize(const std::string& tree, const std::string& dir) const;
  // Creates `branch` (refs/heads/...) in the user's repository at the head of `ref`. If it exists
  // it fails, unless `move_forward` (a resumed run publishing again) and the branch is one this run
  // published: past `base`, on the way to the head (a branch someone made at the base meanwhile is
  // not), or `replace` (the user asked for the branch to be made again: `swarm backlog --redo`).
  // Only objects and that one ref are written; the user's work tree, index and HEAD are not.
  absl::Status Publish(const Git& user, const std::string& branch, bool move_forward = false,
                       const std::string& base = "", const std::string& ref = kIntegrationRef,
                       bool replace = false) const;

 private:
  IntegrationRepo(Git git, CommitAuthor author) : git_(std::move(git)), author_(std::move(author)) {}

  // Set at construction.
  const Git git_;
  const CommitAuthor author_;
};

}  // namespace swarm

#endif  // SWARM_GIT_INTEGRATION_REPO_H_
