// Processes a run started, written down so that a later process can find the ones a dead
// coordinator left behind. Each entry is a file named after the pid holding the process's start time
// (from /proc/<pid>/stat) and its owner: a pid that the kernel has since given to another process
// never matches, so nothing but our own leftovers is ever killed.
//
// Every entry leads its own process group (process.h starts children that way), and the whole
// group is killed. Thread-safe and multi-process-safe: each entry is its own file.
#ifndef SWARM_SANDBOX_PID_LEDGER_H_
#define SWARM_SANDBOX_PID_LEDGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarm {

class PidLedger final {
 public:
  // `dir` is created on first use. An empty dir makes a ledger that records nothing.
  explicit PidLedger(std::string dir) : dir_(std::move(dir)) {}

  // `cgroups`: the cgroup directories the process was started in (its ResourceScope's), so that what
  // it left behind dies with it even after the process itself has exited.
  void Record(int pid, std::string_view owner, const std::vector<std::string>& cgroups = {}) const;
  void Forget(int pid) const;
  // SIGKILLs every recorded process group that is still the process recorded (same start time) and
  // whose owner starts with `owner_prefix`, and everything in its cgroups (which are unique to it, so
  // nothing else is there); drops the entries. Returns how many had a process alive (the recorded one,
  // or any in its cgroups).
  int KillAll(std::string_view owner_prefix = {}) const;

  const std::string& dir() const { return dir_; }

  // The start time of `pid` in clock ticks since boot; nullopt when it does not exist (or is a zombie).
  static std::optional<std::uint64_t> StartTime(int pid);

 private:
  const std::string dir_;
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_PID_LEDGER_H_
