// Resource limits for one sandboxed command: a cgroup per command where the cgroup hierarchy is
// writable (memory and pids, v1 or v2), rlimits otherwise. The scope kills everything left in its
// cgroup and removes it when destroyed.
#ifndef SWARM_SANDBOX_RESOURCE_SCOPE_H_
#define SWARM_SANDBOX_RESOURCE_SCOPE_H_

#include <memory>
#include <string>
#include <vector>

#include "sandbox/process.h"
#include "sandbox/sandbox_policy.h"

namespace swarm {

class ResourceScope final {
 public:
  // Never fails: where no cgroup can be made, the scope falls back to rlimits and says so in Mode().
  static std::unique_ptr<ResourceScope> Create(const ResourceLimits& limits);
  ~ResourceScope();
  ResourceScope(const ResourceScope&) = delete;
  ResourceScope& operator=(const ResourceScope&) = delete;

  // Adds the cgroup joins and rlimits to the spec of the command to be limited.
  void Apply(ProcessSpec& spec) const;
  // Kills every process in the cgroup (no-op under rlimits). Safe from any thread.
  void KillAll() const;
  // "cgroup" or "rlimit": how the memory and process limits are enforced. Under "rlimit" memory is
  // RLIMIT_AS, and processes RLIMIT_NPROC above what the user already runs (root ignores it).
  const std::string& Mode() const { return mode_; }

  // The scope's cgroup directories (none under rlimits), for a PidLedger entry.
  const std::vector<std::string>& CgroupDirs() const { return cgroup_dirs_; }

  // How limits would be enforced on this machine, without creating anything.
  static std::string ProbeMode();
  // Kills every process in the cgroup `dir` and removes it: a scope whose owner died (pid_ledger.h).
  // Returns whether any process was there.
  static bool KillCgroup(const std::string& dir);
  // Whether `dir` is a cgroup that a scope creates (read from a file, it must be checked first).
  static bool IsScopeCgroup(const std::string& dir);
  // Kills what is left in the cgroups of scopes whose creating process is gone (a swarm process killed
  // with SIGKILL never ran its destructors; a process it had started but not yet written down in a
  // PidLedger is found only here), and removes them. Only scopes made in this pid namespace are judged
  // (their names carry its inode: a pid means nothing in another namespace sharing the cgroup tree);
  // one whose creator is alive stays. `parents`: the directories that hold scopes (the real ones when
  // empty). Returns how many were removed.
  static int RemoveAbandoned(const std::vector<std::string>& parents = {});
  // A scope's cgroup name: <pid>-<pid namespace inode>-<salt>-<n>.
  static std::string NewName();

 private:
  ResourceScope() = default;

  // Set at construction.
  std::string mode_;
  std::vector<std::string> cgroup_dirs_;
  ResourceLimits limits_;
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_RESOURCE_SCOPE_H_
