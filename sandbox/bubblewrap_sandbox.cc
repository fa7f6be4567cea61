#include "sandbox/bubblewrap_sandbox.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/path_within.h"
#include "sandbox/internal/seccomp_filter.h"
#include "sandbox/internal/slirp_network.h"
#include "sandbox/mount_template.h"
#include "sandbox/resource_scope.h"
#include "sandbox/user_namespace.h"

namespace swarm {
namespace fs = std::filesystem;
namespace {

// A file in memory holding `content`, for bubblewrap to read (the seccomp program, resolv.conf).
absl::StatusOr<std::shared_ptr<const OwnedFd>> MemoryFile(const char* name, const std::string& content) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return absl::ResourceExhaustedError(absl::StrCat("memfd_create: ", strerror(errno)));
  auto file = std::make_shared<const OwnedFd>(fd);
  if (pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot write ", name, ": ", strerror(errno)));
  }
  return file;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> BubblewrapSandbox::Create() {
  std::string bwrap = FindInPath("bwrap");
  if (bwrap.empty()) {
    return absl::FailedPreconditionError(
        "bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or pass --no-sandbox");
  }
  absl::StatusOr<SandboxIdentity> identity = SandboxIdentity::ForThisProcess();
  if (!identity.ok()) return identity.status();
  std::string setpriv;
  if (identity->switch_user) {
    setpriv = FindInPath("setpriv");
    if (setpriv.empty()) {
      return absl::FailedPreconditionError(
          "running as root, the sandbox needs setpriv (util-linux) to drop to an unprivileged user; it is not installed");
    }
    // It runs inside the sandbox, where a link found in PATH may lie under a hidden place (/tmp, $HOME).
    std::error_code ec;
    if (std::string real = fs::canonical(setpriv, ec); !ec) setpriv = real;
  }
  std::string prlimit;
  if (!identity->switch_user) {
    // It runs inside the sandbox: found now, where a link in PATH may not lead under a hidden place.
    std::error_code ec;
    if (std::string found = FindInPath("prlimit"); !found.empty()) prlimit = fs::canonical(found, ec);
    if (ec) prlimit.clear();
  }
  absl::StatusOr<std::string> program = SeccompProgram();
  if (!program.ok()) return program.status();
  absl::Status user_namespace = absl::OkStatus();
  if (identity->switch_user) user_namespace = NewIdentityUserNamespace().status();
  // Only commands given a network need slirp4netns: its absence is an error when one asks.
  std::unique_ptr<BubblewrapSandbox> sandbox(
      new BubblewrapSandbox(std::move(bwrap), std::move(setpriv), std::move(prlimit), *identity,
                            std::move(user_namespace), std::move(*program), SlirpNetwork::Create()));
  // Namespaces or seccomp can be forbidden (nested containers, sysctls): find out now, not on the
  // first test run.
  SandboxPolicy probe;
  probe.workdir = "/";
  probe.timeout = std::chrono::seconds(30);
  probe.limits = ResourceLimits{0, 0, 0};
  absl::StatusOr<ProcessResult> r = RunSandboxed(*sandbox, probe, "true");
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    std::string why = absl::StrContains(r->err, "seccomp")
                          ? "the kernel refused the seccomp filter"
                          : "user namespaces may be disabled";
    return absl::FailedPreconditionError(absl::StrCat("bubblewrap cannot create a sandbox here (", r->Describe(),
                                                      "): ", r->err, " -- ", why,
                                                      "; pass --no-sandbox to run without isolation"));
  }
  // Where a command's own user namespace is what limits its processes (root, no writable cgroup):
  // bubblewrap must be able to set the sandbox up inside one (a container that masks parts of /proc
  // forbids mounting another /proc there). If not, no process limit per command can be had.
  sandbox->cgroups_ = ResourceScope::ProbeMode() == "cgroup";
  if (identity->switch_user && sandbox->user_namespace_.ok() && !sandbox->cgroups_) {
    probe.limits.max_processes = 64;
    r = RunSandboxed(*sandbox, probe, "true");
    if (!r.ok() || !r->ok()) {
      sandbox->user_namespace_ = absl::FailedPreconditionError(absl::StrCat(
          "bubblewrap cannot set a sandbox up in a user namespace of its own here (",
          r.ok() ? absl::StrCat(r->Describe(), ": ", absl::StripAsciiWhitespace(r->err)) : r.status().ToString(), ")"));
    }
  }
  return sandbox;
}

absl::Status BubblewrapSandbox::CheckProcessLimit(const ResourceLimits& limits) const {
  if (limits.max_processes == 0) return absl::OkStatus();
  if (identity_.switch_user) {
    if (user_namespace_.ok() || cgroups_) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "running as root with no writable cgroup, sandboxed commands cannot have their processes limited one by "
        "one here (",
        user_namespace_.message(),
        "): make /sys/fs/cgroup writable (docs/ci.md), or pass --max-processes 0 to run them without a process "
        "limit"));
  }
  if (!prlimit_.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "prlimit (util-linux) is not installed: sandboxed commands cannot have their processes limited one by one; "
      "install util-linux, or pass --max-processes 0 to run them without a process limit");
}

absl::Status BubblewrapSandbox::CheckNetwork() const {
  if (!network_.ok()) return network_.status();
  SandboxPolicy probe;
  probe.workdir = "/";
  probe.network = true;
  probe.timeout = std::chrono::seconds(30);
  probe.limits = ResourceLimits{0, 0, 0};
  absl::StatusOr<ProcessResult> r = RunSandboxed(*this, probe, "true");
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    return absl::FailedPreconditionError(absl::StrCat("--agent-network: a sandbox's network cannot be had here (",
                                                      r->Describe(), "): ", absl::StripAsciiWhitespace(r->err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<SandboxedCommand> BubblewrapSandbox::Prepare(const SandboxPolicy& policy,
                                                            const std::string& command) const {
  std::error_code ec;
  std::string workdir = fs::canonical(policy.workdir, ec);
  if (ec || !fs::is_directory(workdir)) {
    return absl::NotFoundError(absl::StrCat("work directory ", policy.workdir, " does not exist"));
  }
  if (policy.network && !network_.ok()) return network_.status();
  ProcessSpec spec;
  absl::StatusOr<std::shared_ptr<const OwnedFd>> program = MemoryFile("swarm-seccomp", seccomp_);
  if (!program.ok()) return program.status();
  spec.pass_fds.push_back(std::move(*program));  // fd 3
  std::vector<std::string> a = {bwrap_, "--die-with-parent", "--new-session", "--clearenv", "--seccomp", "3"};
  if (absl::Status st = CheckProcessLimit(policy.limits); !st.ok()) return st;
  // RLIMIT_NPROC counts a user's processes in the user namespace where the command runs and in
  // every one above it, each against the limit its creator had. Set on bubblewrap, an ordinary
  // user's limit would count all of that user's processes (in the host's namespace, bubblewrap's
  // own being made under it); set inside them (prlimit, below), only the sandbox's own.
  const bool limit_inside = !identity_.switch_user && policy.limits.max_processes > 0;
  SandboxPolicy limited = policy;
  if (limit_inside) limited.limits.max_processes = 0;
  std::shared_ptr<ResourceScope> scope = ResourceScope::Create(limited.limits);
  // As root without a cgroup, the command's processes are counted in a user namespace of its own.
  const bool own_user_namespace = identity_.switch_user && policy.limits.max_processes > 0 && scope->Mode() != "cgroup";
  std::string userns_fd;
  if (own_user_namespace) {
    // Joined before bubblewrap makes the other namespaces, which it then owns.
    absl::StatusOr<std::shared_ptr<const OwnedFd>> userns = NewIdentityUserNamespace();
    if (!userns.ok()) return userns.status();
    userns_fd = std::to_string(3 + spec.pass_fds.size());
    a.insert(a.end(), {"--userns", userns_fd});
    spec.pass_fds.push_back(std::move(*userns));
  }
  // The network namespace is always the sandbox's own: the host's loopback services and abstract
  // sockets live in the host's. A network, when allowed, comes through slirp4netns (Attach below).
  if (identity_.switch_user) {
    // Root sets up the namespaces (so that it can bind what its private directories hold); setpriv
    // then leaves root for good before the command runs. Never a user namespace that maps the
    // command to root (the one above maps every id to itself; the command's is swarm-sandbox's).
    a.insert(a.end(), {"--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net"});
  } else {
    a.insert(a.end(), {"--unshare-user", "--unshare-all", "--disable-userns", "--cap-drop", "ALL"});
  }
  // The command's own tmpfs (/tmp, /dev/shm, its home) each hold at most its memory limit: RAM the
  // cgroup may not see (rlimits only) must not be free for the taking.
  auto writable_tmpfs = [&](const std::string& where) {
    if (policy.limits.memory_bytes > 0) a.insert(a.end(), {"--size", std::to_string(policy.limits.memory_bytes)});
    a.insert(a.end(), {"--perms", "01777", "--tmpfs", where});
  };
  a.insert(a.end(), {"--ro-bind", "/", "/", "--dev", "/dev"});
  writable_tmpfs("/dev/shm");
  // /proc/sys and /proc/sysrq-trigger stay writable for a uid that owns them (bubblewrap only
  // protects a few others): read-only, whoever the command runs as.
  a.insert(a.end(), {"--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--ro-bind-try", "/proc/sysrq-trigger",
                     "/proc/sysrq-trigger"});
  writable_tmpfs("/tmp");
  std::string home;
  for (const auto& kv : policy.env) {
    if (kv.starts_with("HOME=")) home = kv.substr(5);
  }
  // Parents before children, so a hidden path never covers a bind made inside it.
  // Sockets on the filesystem (D-Bus, docker, ssh and gpg agents) live under /run: hide it always.
  std::vector<std::string> hidden;
  for (const char* run : {"/run", "/var/run"}) {
    std::string c = fs::weakly_canonical(run, ec);
    if (!ec && fs::is_directory(c) && std::find(hidden.begin(), hidden.end(), c) == hidden.end()) hidden.push_back(c);
  }
  for (const auto& p : policy.hidden_paths) {
    std::string c = fs::weakly_canonical(p, ec);
    if (!ec && fs::is_directory(c) && c != "/") hidden.push_back(c);
  }
  std::sort(hidden.begin(), hidden.end(),
            [](const std::string& x, const std::string& y) { return x.size() < y.size(); });
  for (const auto& h : hidden) {
    // The home is the command's to write (caches, configuration); nothing else hidden is.
    if (h == home) {
      writable_tmpfs(h);
    } else {
      a.insert(a.end(), {"--perms", "0755", "--size", "1048576", "--tmpfs", h});
    }
  }
  std::vector<std::pair<std::string, std::string>> binds;  // (option, canonical path)
  for (const auto& p : policy.ro_binds) {
    std::string c = fs::canonical(p, ec);
    if (ec) return absl::NotFoundError(absl::StrCat("sandbox read-only bind ", p, " does not exist"));
    binds.emplace_back("--ro-bind", c);
  }
  for (const auto& p : policy.rw_binds) {
    std::string c = fs::canonical(p, ec);
    if (ec || !fs::is_directory(c)) return absl::NotFoundError(absl::StrCat("sandbox bind ", p, " is not a directory"));
    binds.emplace_back("--bind", c);
  }
  if (workdir != "/") binds.emplace_back("--bind", workdir);
  // Single files shown elsewhere (an agent's own script): after the work tree, which may hold them.
  std::vector<std::pair<std::string, std::string>> file_binds;  // (source, where)
  for (const FileBind& f : policy.file_binds) {
    fs::path dest(f.dest);
    bool escapes = dest.empty() || std::any_of(dest.begin(), dest.end(), [](const fs::path& part) { return part == ".."; });
    std::string where = dest.is_absolute() ? dest.lexically_normal().string() : (fs::path(workdir) / dest).lexically_normal().string();
    bool system = dest.is_absolute() && (PathWithin(where, "/proc") || PathWithin(where, "/sys") || PathWithin(where, "/dev"));
    if (escapes || system) {
      return absl::InvalidArgumentError(absl::StrCat("sandbox file bind to ", f.dest, ": not a place for a file"));
    }
    if (!fs::is_regular_file(f.source, ec)) {
      return absl::NotFoundError(absl::StrCat("sandbox file bind ", f.source, " is not a file (moved or removed?)"));
    }
    file_binds.emplace_back(f.source, where);
  }
  // A bind inside a hidden path needs its parents made in the tmpfs, readable by the command
  // (bubblewrap would make them 0700 root's).
  std::vector<std::string> tmpfs_roots = hidden;
  tmpfs_roots.insert(tmpfs_roots.end(), {"/tmp", "/dev/shm"});
  auto in_tmpfs = [&](const std::string& path) {
    return std::any_of(tmpfs_roots.begin(), tmpfs_roots.end(),
                       [&](const std::string& root) { return PathWithin(path, root) && path != root; });
  };
  // With a network, names resolve through slirp4netns's forwarder: the host's resolver may be on its
  // loopback (127.0.0.53) or at 169.254.169.254, neither of which the sandbox reaches. Put where
  // /etc/resolv.conf leads (often a file under the hidden /run).
  std::string resolv_conf;
  if (policy.network) {
    std::string target = fs::weakly_canonical("/etc/resolv.conf", ec);
    if (!ec && (fs::is_regular_file(target, ec) || in_tmpfs(target))) resolv_conf = target;
  }
  std::vector<std::string> made_parents_of;
  for (const auto& [option, path] : binds) made_parents_of.push_back(path);
  for (const auto& [source, where] : file_binds) {
    if (!PathWithin(where, workdir)) made_parents_of.push_back(where);
  }
  if (!resolv_conf.empty()) made_parents_of.push_back(resolv_conf);
  std::set<std::string> made;
  for (const auto& path : made_parents_of) {
    std::vector<std::string> parents;
    for (fs::path p = fs::path(path).parent_path(); p != p.root_path() && !p.empty(); p = p.parent_path()) {
      parents.push_back(p.string());
    }
    std::reverse(parents.begin(), parents.end());
    for (const auto& parent : parents) {
      if (in_tmpfs(parent) && made.insert(parent).second) a.insert(a.end(), {"--perms", "0755", "--dir", parent});
    }
  }
  for (const auto& [option, path] : binds) a.insert(a.end(), {option, path, path});
  for (const auto& [source, where] : file_binds) a.insert(a.end(), {"--ro-bind", source, where});
  if (!resolv_conf.empty()) {
    absl::StatusOr<std::shared_ptr<const OwnedFd>> file =
        MemoryFile("swarm-resolv.conf", absl::StrCat("nameserver ", SlirpNetwork::kNameserver, "\n"));
    if (!file.ok()) return file.status();
    a.insert(a.end(), {"--perms", "0644", "--ro-bind-data", std::to_string(3 + spec.pass_fds.size()), resolv_conf});
    spec.pass_fds.push_back(std::move(*file));
  }
  a.insert(a.end(), {"--chdir", workdir});
  std::vector<std::string> env;
  for (const auto& kv : policy.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env.push_back(kv);
  }
  if (identity_.switch_user) {
    // setpriv runs as root: it must see none of the command's environment (LD_PRELOAD, or an
    // LD_LIBRARY_PATH with an empty element, would load a library from the workspace into it). The
    // environment is set by env(1), after the switch.
    a.insert(a.end(), {"--", setpriv_, absl::StrCat("--reuid=", identity_.uid),
                       absl::StrCat("--regid=", identity_.gid), "--clear-groups", "--inh-caps=-all",
                       "--bounding-set=-all", "--no-new-privs", "--", "/usr/bin/env", "-i", "--"});
    a.insert(a.end(), env.begin(), env.end());
  } else {
    for (const auto& kv : env) {
      auto eq = kv.find('=');
      a.insert(a.end(), {"--setenv", kv.substr(0, eq), kv.substr(eq + 1)});
    }
    a.push_back("--");
  }
  // As an ordinary user, the process limit is set inside bubblewrap's user namespaces (see above).
  if (limit_inside) {
    const std::string n = std::to_string(policy.limits.max_processes);
    a.insert(a.end(), {prlimit_, absl::StrCat("--nproc=", n, ":", n), "--"});
  }
  // bubblewrap leaves the user namespace's descriptor open: the command gets none of swarm's.
  a.insert(a.end(),
           {"/bin/sh", "-c", userns_fd.empty() ? command : absl::StrCat("exec ", userns_fd, "<&-\n", command)});

  // Started in a copy of the process's mount template, holding what it binds and none of the other
  // attempts' workspaces: what bubblewrap copies and reads is then the same at any number of them.
  if (std::shared_ptr<const OwnedFd> base = MountTemplate()) {
    ProcessSpec::MountNamespace ns{std::move(base), {}};
    for (const auto& [option, path] : binds) {
      absl::StatusOr<std::shared_ptr<const OwnedFd>> tree = CloneTree(path);
      if (!tree.ok()) return tree.status();
      ns.trees.emplace_back(*std::move(tree), path);
    }
    spec.mount_namespace = std::move(ns);
  }
  spec.argv = std::move(a);
  spec.env = std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin"};
  spec.umask = 022;  // swarm's own files are private; what a command makes is as on any machine
  SandboxedCommand prepared = LimitedCommand(limited, std::move(spec), std::move(scope));
  // Counted in the command's own user namespace: its processes alone (bubblewrap, root there, is not
  // counted). With a cgroup, pids.max does it.
  if (own_user_namespace) prepared.spec.rlimits.push_back({RLIMIT_NPROC, policy.limits.max_processes});
  if (policy.network) {
    if (absl::Status st = (*network_)->Attach(prepared.spec); !st.ok()) return st;
  }
  return prepared;
}

}  // namespace swarm
