// Runs git plumbing with everything that could run user code or touch the user's state switched off:
// hooks, gc, fsmonitor, optional locks, system and global config. Commits get a fixed identity.
#ifndef SWARM_GIT_GIT_H_
#define SWARM_GIT_GIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sandbox/process.h"

namespace swarm {

struct GitOptions {
  std::string stdin_data;
  std::string index_file;  // GIT_INDEX_FILE: a private index
  std::string work_tree;   // overrides the repository's work tree
  std::vector<std::string> env;     // extra "NAME=VALUE"
  std::vector<std::string> config;  // extra "-c" settings, "name=value"
  // Run: the most stdout kept; more fails with ResourceExhausted instead of a cut output. 0: 2 GiB.
  std::size_t output_cap = 0;
  // RLIMIT_AS of the git process (0: none): for git reading what an agent wrote (a patch's sizes).
  std::uint64_t memory_limit_bytes = 0;
};

// A handle on one repository; cheap to copy. Thread-safe: every call runs its own git process.
class Git {
 public:
  // Opens the repository at or above `path`; fails with InvalidArgument when there is none.
  static absl::StatusOr<Git> Open(const std::string& path);
  // A handle on a known git directory (bare or not), without checking it.
  static Git AtGitDir(std::string git_dir, std::string work_tree = "");

  // Runs `git ARGS`; returns stdout, or an error quoting stderr when git exits non-zero.
  absl::StatusOr<std::string> Run(const std::vector<std::string>& args, const GitOptions& opts = {}) const;
  // Runs `git ARGS` and returns the result whatever the exit status (for commands whose status
  // carries meaning, such as merge-tree's 1 for a conflict).
  absl::StatusOr<ProcessResult> RunRaw(const std::vector<std::string>& args,
                                       const GitOptions& opts = {}) const;

  // The commit `rev` names; NotFound when it does not resolve to one.
  absl::StatusOr<std::string> ResolveCommit(const std::string& rev) const;

  const std::string& git_dir() const { return git_dir_; }
  const std::string& work_tree() const { return work_tree_; }  // empty for a bare repository
  // The object directory, absolute (shared by worktrees).
  std::string ObjectDir() const;

 private:
  Git(std::string git_dir, std::string work_tree)
      : git_dir_(std::move(git_dir)), work_tree_(std::move(work_tree)) {}

  std::string git_dir_;
  std::string work_tree_;
  std::string common_dir_;  // differs from git_dir_ in a linked worktree
  bool trusted_ = true;     // swarm's own repository (false for one opened with Open)
};

// A private index file (for GIT_INDEX_FILE) in `dir`, removed when this goes out of scope. The file
// does not exist until git writes it: an empty file is not a valid index.
class TempIndex final {
 public:
  explicit TempIndex(const std::string& dir = "/tmp");
  ~TempIndex();
  TempIndex(const TempIndex&) = delete;
  TempIndex& operator=(const TempIndex&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Trims one trailing newline.
std::string TrimNewline(std::string s);

// A work tree of `source_git_dir` at `commit` in `dir` (which must not exist): a shared clone (the
// objects through alternates) checked out detached, with its own .git.
absl::Status CloneAt(const std::string& source_git_dir, const std::string& commit, const std::string& dir);

// Whether `path` (relative to the root) is a .gitattributes file: a change to one changes how files
// it does not touch check out (eol, ident, filters).
bool IsAttributesFile(absl::string_view path);

}  // namespace swarm

#endif  // SWARM_GIT_GIT_H_
