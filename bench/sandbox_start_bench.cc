// What a sandboxed command costs to start, without a network and with one (--agent-network:
// slirp4netns, the metadata route, resolv.conf): N runs of `true` one after another, each way, in
// alternation so that both see the same machine. Prints a table; not a test. Usage:
//
//   build/bench/sandbox_start_bench [--commands 50]
//
// Run it as root (commands switch to swarm-sandbox) and as an ordinary user (bubblewrap makes a user
// namespace) for both figures.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sandbox/bubblewrap_sandbox.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double mean, median, p90;
};

Stats Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double m : ms) sum += m;
  return {sum / ms.size(), ms[ms.size() / 2], ms[ms.size() * 9 / 10]};
}

}  // namespace

int main(int argc, char** argv) {
  int commands = 50;
  for (int i = 1; i + 1 < argc; ++i) {
    if (strcmp(argv[i], "--commands") == 0) commands = std::max(1, atoi(argv[++i]));
  }
  auto sandbox = swarm::BubblewrapSandbox::Create();
  if (!sandbox.ok()) {
    fprintf(stderr, "%s\n", std::string(sandbox.status().message()).c_str());
    return 3;
  }
  if (absl::Status st = (*sandbox)->CheckNetwork(); !st.ok()) {
    fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 3;
  }
  swarm::SandboxPolicy policy;
  policy.workdir = "/";
  policy.env = {"PATH=/usr/bin:/bin"};
  std::vector<double> ms[2];
  for (int i = 0; i < commands; ++i) {
    for (int network = 0; network < 2; ++network) {
      policy.network = network == 1;
      auto start = Clock::now();
      absl::StatusOr<swarm::ProcessResult> r = swarm::RunSandboxed(**sandbox, policy, "true");
      if (!r.ok() || !r->ok()) {
        fprintf(stderr, "a command failed: %s\n", r.ok() ? r->err.c_str() : std::string(r.status().message()).c_str());
        return 1;
      }
      ms[network].push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  }
  Stats off = Summarize(ms[0]), on = Summarize(ms[1]);
  printf("sandbox start-up: %d runs of `true` each way, as %s, %ld cores\n\n", commands,
         geteuid() == 0 ? "root (commands as swarm-sandbox)" : "an ordinary user", sysconf(_SC_NPROCESSORS_ONLN));
  printf("| network | mean ms | median ms | p90 ms |\n|---|---|---|---|\n");
  printf("| off | %.1f | %.1f | %.1f |\n", off.mean, off.median, off.p90);
  printf("| on (slirp4netns) | %.1f | %.1f | %.1f |\n", on.mean, on.median, on.p90);
  printf("| added | %.1f | %.1f | |\n", on.mean - off.mean, on.median - off.median);
  return 0;
}
