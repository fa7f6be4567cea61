// Outbound NAT for a sandbox that has its own network namespace, through slirp4netns
// (docs/SECURITY.md, "The sandbox, call by call"). slirp4netns runs outside the sandbox, attaches a
// tap device to the sandbox's namespace and carries the sandbox's connections out as sockets of its
// own: the command reaches what the host reaches, except the host's loopback services
// (--disable-host-loopback), the host's abstract Unix sockets (they belong to the host's network
// namespace) and 169.254.0.0/16, where clouds serve instance metadata and credentials (an
// unreachable route in the sandbox's namespace, which the command has no capability to remove).
#ifndef SWARM_SANDBOX_INTERNAL_SLIRP_NETWORK_H_
#define SWARM_SANDBOX_INTERNAL_SLIRP_NETWORK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sandbox/process.h"

namespace swarm {

class SlirpNetwork final {
 public:
  // The sandbox's resolver: slirp4netns forwards this address (port 53 only) to the host's.
  static constexpr char kNameserver[] = "10.0.2.3";

  // FailedPrecondition naming the package when slirp4netns is not installed.
  static absl::StatusOr<std::unique_ptr<SlirpNetwork>> Create();

  // Gives the bubblewrap command in `spec` (not started yet; it unshares the network) its network.
  // bubblewrap names its child (--info-fd) and holds the command (--block-fd) while a thread started
  // here runs slirp4netns on that child's namespace, waits until it is ready and adds the
  // unreachable route; then the command runs. slirp4netns joins the command's cgroups, ends with
  // the sandbox (its --exit-fd is bubblewrap's --sync-fd) and is killed and reaped before the
  // command's callback runs (ProcessSpec::on_exit). If the network cannot be had, the command never
  // runs: the sandbox is killed (bubblewrap exits 137) and the command's stderr ends with why. A spec
  // dropped without being started ends the thread. Fails only when pipes or a thread cannot be had.
  // Thread-safe.
  absl::Status Attach(ProcessSpec& spec) const;

  SlirpNetwork(const SlirpNetwork&) = delete;
  SlirpNetwork& operator=(const SlirpNetwork&) = delete;

 private:
  explicit SlirpNetwork(std::string binary) : binary_(std::move(binary)) {}

  // Set at construction.
  const std::string binary_;  // slirp4netns
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_INTERNAL_SLIRP_NETWORK_H_
