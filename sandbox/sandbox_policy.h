// What a sandboxed command may see and do. Plain data; the Sandbox turns it into a command line.
#ifndef SWARM_SANDBOX_SANDBOX_POLICY_H_
#define SWARM_SANDBOX_SANDBOX_POLICY_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/growth_guard.h"

namespace swarm {

struct ResourceLimits {
  std::uint64_t memory_bytes = 4ull << 30;     // 0: unlimited
  std::uint32_t max_processes = 512;           // 0: unlimited
  std::uint64_t max_file_bytes = 1ull << 30;   // largest file a command may write; 0: unlimited
};

// PATH inside the sandbox (unless the run's --sandbox-env sets another).
inline constexpr char kSandboxPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A host file shown read-only at `dest`: an absolute path, or one relative to the working directory
// (an agent's script that is not in its workspace's commit).
struct FileBind {
  std::string source;  // canonical host path of a regular file
  std::string dest;
};

struct SandboxPolicy {
  std::string workdir;                   // writable, the command's working directory
  std::vector<std::string> ro_binds;     // host paths visible read-only at the same place
  std::vector<std::string> rw_binds;     // host directories writable at the same place (--build-cache)
  std::vector<FileBind> file_binds;      // single files shown read-only elsewhere (agent commands only)
  std::vector<std::string> hidden_paths; // replaced by empty tmpfs (state, user repo, other workspaces)
  std::vector<std::string> env;          // the environment, "NAME=VALUE"; nothing else passes
  bool network = false;                  // outbound NAT, never the host's loopback (agent commands, on request)
  ResourceLimits limits;
  std::chrono::milliseconds timeout{600'000};
  std::size_t output_cap = 1 << 20;
  // A tree the command writes that no file system of its own caps (on disk): the command is stopped
  // once it holds more (growth_guard.h). Unset where the tree's own file system caps it.
  std::optional<GrowthCap> growth_cap;
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_SANDBOX_POLICY_H_
