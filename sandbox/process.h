// Child processes: started with a clean file-descriptor table in their own process group, output
// captured up to a cap, killed (with everything in their group) at a wall-clock time-out, reaped
// through a pidfd so no SIGCHLD handler is needed.
#ifndef SWARM_SANDBOX_PROCESS_H_
#define SWARM_SANDBOX_PROCESS_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace boost::asio {
class io_context;
}

namespace swarm {

// A file descriptor closed on destruction.
class OwnedFd final {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd();
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }

 private:
  const int fd_;
};

inline constexpr std::size_t kMaxPrivateEtcBytes = 8 << 20;

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string cwd;                // empty: inherit
  // The whole environment, "NAME=VALUE". Unset: inherit this process's environment.
  std::optional<std::vector<std::string>> env;
  std::string stdin_data;         // written to the child's stdin, then closed
  std::chrono::milliseconds timeout{0};  // 0: none
  std::size_t output_cap = 4 << 20;      // bytes kept of stdout and of stderr, each: head and tail
  // Files the child writes "0" to before exec (cgroup.procs of the cgroups it joins).
  std::vector<std::string> join_cgroup_procs;
  struct Limit {
    int resource;
    rlim_t value;
  };
  std::vector<Limit> rlimits;
  // Open files the child inherits, as fds 3, 4, ... in this order (e.g. a seccomp program for
  // bubblewrap). Shared so that the spec keeps them open until the child has started.
  std::vector<std::shared_ptr<const OwnedFd>> pass_fds;
  // The child's umask; unset: this process's.
  std::optional<mode_t> umask;
  // A user namespace the child joins just before exec (so that it runs as that namespace's root, as
  // the user who owns it); unset: this process's.
  std::shared_ptr<const OwnedFd> user_namespace;
  // Set: the child runs in a copy of `base` (a mount namespace: mount_template.h), made before its
  // chdir, with each tree (a detached mount: CloneTree) attached at its path.
  struct MountNamespace {
    std::shared_ptr<const OwnedFd> base;
    std::vector<std::pair<std::shared_ptr<const OwnedFd>, std::string>> trees;  // (tree, where)
  };
  std::optional<MountNamespace> mount_namespace;
  // Set: the child runs in a mount namespace of its own (made after joining `user_namespace`) where
  // /run is an empty tmpfs (the sockets of docker, D-Bus, ssh and gpg agents live there) and /etc a
  // read-only tmpfs holding only these files (name, content; at most kMaxPrivateEtcBytes in all):
  // nothing else of the host's /etc (accounts, keys, configuration).
  std::optional<std::vector<std::pair<std::string, std::string>>> private_etc;
  // Set (the default): the child is killed (SIGKILL) when the thread that started it exits, from before
  // its exec on, so nothing a dead coordinator or host started runs on unsupervised: a host, a sandbox,
  // a git command that would move the integration ref behind a resume's back (its lock files are
  // removed by the resume: IntegrationRepo::RemoveStaleLocks). The signal follows the starting
  // *thread*: a child started from a thread that ends before it must unset this (slirp4netns). Either
  // way a child whose parent died before it could exec stops there.
  bool die_with_parent = true;
  // Called in the parent with the child's pid (also its process group) once it has started.
  std::function<void(int pid)> on_start;
  // Called in the parent (on the io_context that reads the child's output) with each piece of output
  // as it is read, before any cap: stream 1 is stdout, 2 stderr. For a live view of a running child.
  std::function<void(int stream, std::string_view piece)> on_output;
  // Called in the parent when the time-out fires, before the group is killed (e.g. kill a cgroup).
  std::function<void()> on_timeout;
  // Called in the parent once the child has been reaped, before `done`: ends what was started beside
  // the child for it (a sandbox's network) and returns text to append to its stderr (usually none).
  std::function<std::string()> on_exit;
};

struct ProcessResult {
  int exit_code = -1;    // valid when term_signal == 0
  int term_signal = 0;   // the signal that ended the child, or 0
  bool timed_out = false;
  bool output_truncated = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds duration{0};
  int pid = 0;

  bool ok() const { return !timed_out && term_signal == 0 && exit_code == 0; }
  // "exit 3", "killed by signal 9", "timed out after 5s".
  std::string Describe() const;
};

using ProcessCallback = std::function<void(absl::StatusOr<ProcessResult>)>;

// Starts `spec` and calls `done` on `io`'s executor when the child has exited and its output is read.
// Returns an error (and never calls `done`) when the child could not be started. Thread-safe.
absl::Status StartProcess(boost::asio::io_context& io, ProcessSpec spec, ProcessCallback done);

// Adds `f` to what runs when the child has started, after what `spec` runs then already.
void AlsoOnStart(ProcessSpec& spec, std::function<void(int pid)> f);

// Runs `spec` to completion on the calling thread.
absl::StatusOr<ProcessResult> RunProcess(ProcessSpec spec);

// Looks `name` up in PATH; empty when absent.
std::string FindInPath(const std::string& name);

}  // namespace swarm

#endif  // SWARM_SANDBOX_PROCESS_H_
