#include "sandbox/sandbox.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/growth_guard.h"

namespace swarm {

namespace {

// While the command runs, its tree is watched (growth_guard.h); past its limit the command's
// bubblewrap (and with it the whole sandbox), its process group and cgroup are killed, and its stderr
// says why. The kill goes through a pidfd, which cannot reach another process once this one is reaped.
void GuardTheTree(const GrowthCap& cap, const std::string& workdir, SandboxedCommand& prepared) {
  struct Guarded {
    std::shared_ptr<std::atomic<bool>> grew = std::make_shared<std::atomic<bool>>(false);
    absl::Mutex mu;
    int pidfd ABSL_GUARDED_BY(mu) = -1;
    int pid ABSL_GUARDED_BY(mu) = 0;
    std::shared_ptr<void> watch ABSL_GUARDED_BY(mu);
  };
  auto guarded = std::make_shared<Guarded>();
  prepared.grew_past_limit = guarded->grew;
  std::weak_ptr<ResourceScope> scope = prepared.scope;
  AlsoOnStart(prepared.spec, [guarded, scope, cap, workdir](int pid) {
    absl::MutexLock lock(&guarded->mu);
    guarded->pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    guarded->pid = pid;
    std::weak_ptr<Guarded> weak = guarded;
    guarded->watch = GuardGrowth(cap, WatchedCommand{pid, workdir}, [weak, scope] {
      auto g = weak.lock();
      if (g == nullptr) return;
      absl::MutexLock lock(&g->mu);
      if (g->pid == 0) return;  // over
      g->grew->store(true);
      // The group too (an unsandboxed command's children), while its leader is not yet reaped. Without
      // a pidfd (none could be opened: rare) the group alone, which a reap just before on_exit could
      // leave to another process.
      if (g->pidfd < 0 || syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL, nullptr, 0) == 0) kill(-g->pid, SIGKILL);
      if (auto s = scope.lock()) s->KillAll();
    });
  });
  prepared.spec.on_exit = [guarded, previous = std::move(prepared.spec.on_exit)] {
    std::string said = previous ? previous() : "";
    std::shared_ptr<void> watch;
    {
      absl::MutexLock lock(&guarded->mu);
      if (guarded->pidfd >= 0) close(guarded->pidfd);
      guarded->pidfd = -1;
      guarded->pid = 0;
      watch = std::move(guarded->watch);
    }
    watch.reset();  // outside the lock: the guard's own lock is taken to forget it
    if (!guarded->grew->load()) return said;
    return absl::StrCat(said,
                        "\n[swarm: the command was stopped: the tree it writes (with the deleted files it held open) "
                        "grew past its limits (--max-workspace-mb, --max-workspace-files) while it ran]\n");
  };
}

}  // namespace

SandboxedCommand LimitedCommand(const SandboxPolicy& policy, ProcessSpec spec, std::shared_ptr<ResourceScope> scope) {
  SandboxedCommand prepared;
  prepared.scope = scope != nullptr ? std::move(scope) : ResourceScope::Create(policy.limits);
  prepared.spec = std::move(spec);
  prepared.spec.timeout = policy.timeout;
  prepared.spec.output_cap = policy.output_cap;
  prepared.scope->Apply(prepared.spec);
  prepared.spec.on_timeout = [weak = std::weak_ptr<ResourceScope>(prepared.scope)] {
    if (auto s = weak.lock()) s->KillAll();
  };
  if (policy.growth_cap) GuardTheTree(*policy.growth_cap, policy.workdir, prepared);
  return prepared;
}

absl::StatusOr<ProcessResult> RunSandboxed(const Sandbox& sandbox, const SandboxPolicy& policy,
                                           const std::string& command) {
  absl::StatusOr<SandboxedCommand> prepared = sandbox.Prepare(policy, command);
  if (!prepared.ok()) return prepared.status();
  return RunProcess(std::move(prepared->spec));
}

absl::Status StartSandboxed(boost::asio::io_context& io, const Sandbox& sandbox,
                            const SandboxPolicy& policy, const std::string& command,
                            ProcessCallback done) {
  absl::StatusOr<SandboxedCommand> prepared = sandbox.Prepare(policy, command);
  if (!prepared.ok()) return prepared.status();
  // The callback co-owns the scope so the cgroup outlives the command.
  auto scope = prepared->scope;
  return StartProcess(io, std::move(prepared->spec),
                      [scope, done = std::move(done)](absl::StatusOr<ProcessResult> r) { done(std::move(r)); });
}

}  // namespace swarm
