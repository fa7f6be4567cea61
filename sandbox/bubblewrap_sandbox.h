// Runs commands under bubblewrap: new namespaces (pid, net, ipc, uts, cgroup, mount; user when not
// root), a seccomp allowlist (seccomp_filter.h), no capabilities, an unprivileged identity
// (sandbox_identity.h), a cleared environment, a read-only root with the policy's hidden paths
// replaced by empty tmpfs, /proc/sys read-only, a private /tmp and /dev/shm, and only the work
// directory writable. The network namespace has only its loopback unless the policy allows a
// network: then slirp4netns gives it outbound NAT (internal/slirp_network.h), never the host's loopback.
// Killing bwrap (the init of the new PID namespace) kills everything inside it. As root where no
// cgroup can be written, each command also has a user namespace of its own, whose ids map to
// themselves (user_namespace.h): its process limit then holds per command. As an ordinary user the same
// holds through bubblewrap's own user namespaces, the limit set inside them (prlimit).
#ifndef SWARM_SANDBOX_BUBBLEWRAP_SANDBOX_H_
#define SWARM_SANDBOX_BUBBLEWRAP_SANDBOX_H_

#include <memory>
#include <string>

#include "sandbox/sandbox.h"
#include "sandbox/sandbox_identity.h"

namespace swarm {

class SlirpNetwork;

class BubblewrapSandbox final : public Sandbox {
 public:
  // Fails with FailedPrecondition when bwrap (or, as root, setpriv) is not installed, the sandbox
  // user cannot be had, the seccomp filter cannot be built, or a probe command cannot run here
  // (namespaces or seccomp forbidden): swarm never runs a command less isolated than it says.
  static absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> Create();

  // Whether commands whose policy allows a network can have one here: runs one. FailedPrecondition
  // saying what is missing (slirp4netns, access to /dev/net/tun) otherwise.
  absl::Status CheckNetwork() const;
  // Whether commands can have their processes limited one by one under `limits` here:
  // FailedPrecondition saying why not and what to do (Prepare fails the same way).
  absl::Status CheckProcessLimit(const ResourceLimits& limits) const;

  absl::StatusOr<SandboxedCommand> Prepare(const SandboxPolicy& policy,
                                           const std::string& command) const override;
  absl::Status HandOver(const std::string& path) const override { return identity_.HandOver(path); }
  std::string Name() const override { return "bubblewrap"; }

 private:
  BubblewrapSandbox(std::string bwrap, std::string setpriv, std::string prlimit, SandboxIdentity identity,
                    absl::Status user_namespace, std::string seccomp,
                    absl::StatusOr<std::shared_ptr<const SlirpNetwork>> network)
      : bwrap_(std::move(bwrap)),
        setpriv_(std::move(setpriv)),
        prlimit_(std::move(prlimit)),
        identity_(identity),
        user_namespace_(std::move(user_namespace)),
        seccomp_(std::move(seccomp)),
        network_(std::move(network)) {}

  // Set at construction.
  const std::string bwrap_;
  const std::string setpriv_;  // as root: switches to the identity inside the sandbox
  // As an ordinary user: sets the process limit inside the sandbox, once bubblewrap has made its user
  // namespaces, so that it counts the sandbox's processes alone; empty: not installed.
  const std::string prlimit_;
  const SandboxIdentity identity_;
  // As root: OK when each command can have a user namespace of its own (user_namespace.h), so that
  // RLIMIT_NPROC counts its processes alone where no cgroup does; why not otherwise. Set by Create.
  absl::Status user_namespace_;
  bool cgroups_ = false;       // whether a command's limits are a cgroup here (probed once, by Create)
  const std::string seccomp_;  // the BPF program
  const absl::StatusOr<std::shared_ptr<const SlirpNetwork>> network_;  // why not, when slirp4netns is missing
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_BUBBLEWRAP_SANDBOX_H_
