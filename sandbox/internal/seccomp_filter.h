// The system calls a sandboxed command may make: an allowlist after Docker's default profile, compiled
// with libseccomp into a BPF program that bubblewrap loads (--seccomp) just before the command runs.
//
// Everything not on the list answers ENOSYS (so programs fall back, as glibc does from clone3 to
// clone). Refused among others: io_uring, bpf, keyctl/add_key/request_key (the kernel keyring),
// userfaultfd, perf_event_open, ptrace and process_vm_*, mount and the new mount API, setns,
// pivot_root, chroot; clone and unshare with any namespace flag (EPERM), so no new user namespace;
// sockets other than Unix, IPv4, IPv6 and netlink (so no vsock to a hypervisor). A call made through
// another ABI (x32, i386 on x86_64) kills the process.
#ifndef SWARM_SANDBOX_INTERNAL_SECCOMP_FILTER_H_
#define SWARM_SANDBOX_INTERNAL_SECCOMP_FILTER_H_

#include <string>

#include "absl/status/statusor.h"

namespace swarm {

// The filter as a BPF program (struct sock_filter[]), built once per process. Fails with
// FailedPrecondition where libseccomp does not know this machine's architecture. Thread-safe.
absl::StatusOr<std::string> SeccompProgram();

}  // namespace swarm

#endif  // SWARM_SANDBOX_INTERNAL_SECCOMP_FILTER_H_
