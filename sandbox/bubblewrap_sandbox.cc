#include "bubblewrap_sandbox.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace swarm {
namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> BubblewrapSandbox::Create() {
  std::string bwrap = FindInPath("bwrap");
  if (bwrap.empty()) {
    return absl::FailedPreconditionError(
        "bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or pass --no-sandbox");
  }
  std::unique_ptr<BubblewrapSandbox> sandbox(new BubblewrapSandbox(bwrap));
  // Namespaces can be forbidden (nested containers, sysctls): find out now, not on the first test run.
  SandboxPolicy probe;
  probe.workdir = "/";
  probe.timeout = std::chrono::seconds(30);
  probe.limits = ResourceLimits{0, 0, 0};
  absl::StatusOr<ProcessResult> r = RunSandboxed(*sandbox, probe, "true");
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bubblewrap cannot create a sandbox here (", r->Describe(), "): ", r->err,
        " -- user namespaces may be disabled; pass --no-sandbox to run without isolation"));
  }
  return sandbox;
}

absl::StatusOr<SandboxedCommand> BubblewrapSandbox::Prepare(const SandboxPolicy& policy,
                                                            const std::string& command) const {
  std::error_code ec;
  std::string workdir = fs::canonical(policy.workdir, ec);
  if (ec || !fs::is_directory(workdir)) {
    return absl::NotFoundError(absl::StrCat("work directory ", policy.workdir, " does not exist"));
  }
  std::vector<std::string> a = {bwrap_,        "--unshare-user", "--unshare-all", "--cap-drop",
                                "ALL",         "--die-with-parent", "--new-session", "--clearenv"};
  if (policy.network) a.push_back("--share-net");
  for (const char* arg : {"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"}) {
    a.push_back(arg);
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
  for (const auto& h : hidden) a.insert(a.end(), {"--tmpfs", h});
  for (const auto& p : policy.ro_binds) {
    std::string c = fs::canonical(p, ec);
    if (ec) return absl::NotFoundError(absl::StrCat("sandbox read-only bind ", p, " does not exist"));
    a.insert(a.end(), {"--ro-bind", c, c});
  }
  if (workdir != "/") a.insert(a.end(), {"--bind", workdir, workdir});
  a.insert(a.end(), {"--chdir", workdir});
  for (const auto& kv : policy.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    a.insert(a.end(), {"--setenv", kv.substr(0, eq), kv.substr(eq + 1)});
  }
  a.insert(a.end(), {"--", "/bin/sh", "-c", command});

  ProcessSpec spec;
  spec.argv = std::move(a);
  spec.env = std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin"};
  return LimitedCommand(policy, std::move(spec));
}

}  // namespace swarm
