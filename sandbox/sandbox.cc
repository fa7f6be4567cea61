#include "sandbox/sandbox.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/growth_guard.h"

namespace swarm {

namespace {

// While the command runs, its tree is watched (growth_guard.h); past its limit the command's
// process group (bubblewrap leads it: the whole sandbox) and cgroup are killed, and its stderr says why.
void GuardTheTree(const GrowthCap& cap, SandboxedCommand& prepared) {
  struct Guarded {
    std::shared_ptr<std::atomic<bool>> grew = std::make_shared<std::atomic<bool>>(false);
    absl::Mutex mu;
    int pid ABSL_GUARDED_BY(mu) = 0;  // 0 once reaped
    bool stopped ABSL_GUARDED_BY(mu) = false;
    std::shared_ptr<void> watch ABSL_GUARDED_BY(mu);
  };
  auto guarded = std::make_shared<Guarded>();
  prepared.grew_past_limit = guarded->grew;
  std::weak_ptr<ResourceScope> scope = prepared.scope;
  AlsoOnStart(prepared.spec, [guarded, scope, cap](int pid) {
    std::weak_ptr<Guarded> weak = guarded;
    std::shared_ptr<void> watch = GuardGrowth(cap, [weak, scope] {
      auto g = weak.lock();
      if (g == nullptr) return;
      absl::MutexLock lock(&g->mu);
      if (g->pid <= 0) return;  // reaped: the number may be another process's by now
      g->stopped = true;
      g->grew->store(true);
      kill(-g->pid, SIGKILL);
      if (auto s = scope.lock()) s->KillAll();
    });
    absl::MutexLock lock(&guarded->mu);
    guarded->pid = pid;
    guarded->watch = std::move(watch);
  });
  prepared.spec.on_exit = [guarded, previous = std::move(prepared.spec.on_exit)] {
    std::string said = previous ? previous() : "";
    std::shared_ptr<void> watch;
    bool stopped;
    {
      absl::MutexLock lock(&guarded->mu);
      guarded->pid = 0;
      watch = std::move(guarded->watch);
      stopped = guarded->stopped;
    }
    watch.reset();  // outside the lock: it waits for nothing, but takes the guard's
    if (!stopped) return said;
    return absl::StrCat(said,
                        "\n[swarm: the command was stopped: the tree it writes grew past its limits "
                        "(--max-workspace-mb, --max-workspace-files) while it ran]\n");
  };
}

}  // namespace

SandboxedCommand LimitedCommand(const SandboxPolicy& policy, ProcessSpec spec) {
  SandboxedCommand prepared;
  prepared.scope = ResourceScope::Create(policy.limits);
  prepared.spec = std::move(spec);
  prepared.spec.timeout = policy.timeout;
  prepared.spec.output_cap = policy.output_cap;
  prepared.scope->Apply(prepared.spec);
  std::weak_ptr<ResourceScope> scope = prepared.scope;
  prepared.spec.on_timeout = [scope] {
    if (auto s = scope.lock()) s->KillAll();
  };
  if (policy.growth_cap) GuardTheTree(*policy.growth_cap, prepared);
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
