// The merge stage's throughput: 100 patches on a generated repository, of which 5 break the tests and
// 5 conflict with earlier ones, through serial merging, the speculative queue at depths 1, 2, 4, 8,
// and the queue with batches and bisection; in two modes, a test that sleeps T (latency-bound) and
// one that burns T of CPU (CPU-bound). Prints a table; not a test. Usage:
//
//   build/bench/merge_queue_bench [--t-ms 200] [--patches 100] [--mode latency|cpu|both] [--only TEXT]
//
// It drives the library directly: the integration repository, the test gate (without the sandbox,
// whose start-up would blur small T) and the queues; no agents, no check stage.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "orchestrator/merge/check_stage.h"
#include "git/integration_repo.h"
#include "orchestrator/merge/serial_merge_queue.h"
#include "orchestrator/merge/speculative_merge_queue.h"
#include "orchestrator/merge/test_gate.h"
#include "git/git.h"
#include "sandbox/unsandboxed_runner.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
}  // namespace
}  // namespace swarm
using swarm::Clock;
namespace swarm {
namespace {

void Sh(const std::string& cmd) {
  if (system(cmd.c_str()) != 0) {
    std::cerr << "failed: " << cmd << "\n";
    exit(1);
  }
}

double ChildCpuSeconds() {
  struct rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Fixture {
  std::string dir, repo;
  std::string base;
  std::vector<std::string> commits;  // one patch commit per patch, on the base
  std::vector<std::string> kind;     // good, bad, conflict
};

// 100 files; patch i appends to file i. Bad patches write BAD (the test fails); a conflicting patch
// rewrites the first line of an earlier patch's file, which that patch also rewrites.
Fixture Generate(int patches, unsigned seed) {
  Fixture f;
  f.dir = fs::temp_directory_path() / absl::StrCat("swarm-bench-", getpid());
  fs::remove_all(f.dir);
  f.repo = f.dir + "/repo";
  fs::create_directories(f.repo);
  for (int i = 0; i < patches; ++i) std::ofstream(absl::StrCat(f.repo, "/f", i, ".txt")) << "line one\nline two\n";
  Sh("cd " + f.repo + " && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm base");
  std::mt19937 rng(seed);
  std::vector<int> order(patches);
  for (int i = 0; i < patches; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  f.kind.assign(patches, "good");
  for (int k = 0; k < 5 && k < patches; ++k) f.kind[order[k]] = "bad";
  for (int k = 5; k < 10 && k < patches; ++k) f.kind[order[k]] = "conflict";
  absl::StatusOr<Git> git = Git::Open(f.repo);
  f.base = TrimNewline(*git->Run({"rev-parse", "HEAD"}));
  for (int i = 0; i < patches; ++i) {
    // A conflicting patch edits the file of the patch just before it, on the same line.
    int file = f.kind[i] == "conflict" && i > 0 ? i - 1 : i;
    std::string path = absl::StrCat(f.repo, "/f", file, ".txt");
    std::string first = f.kind[i] == "bad" ? "BAD" : absl::StrCat("edited by ", i);
    std::ofstream(path) << first << "\nline two\n";
    Sh(absl::StrCat("cd ", f.repo, " && git add -A && git -c user.name=b -c user.email=b@b commit -qm p", i,
                    " && git reset -q --hard ", f.base));
    f.commits.push_back(TrimNewline(*git->Run({"rev-parse", "HEAD@{1}"})));
  }
  // Patch i-1 must be earlier in the queue than its conflicting successor: submission order is i.
  return f;
}

struct Row {
  std::string name;
  double wall_t = 0, cpu_s = 0;
  int landed = 0, rejected = 0, conflicts = 0;
  std::string tree;
};

Row RunOne(const Fixture& f, const std::string& name, int depth, int batch, bool serial, int check_jobs,
           const std::string& test, int t_ms) {
  Row row;
  row.name = name;
  std::string work = f.dir + "/" + name;
  fs::remove_all(work);
  fs::create_directories(work + "/scratch");
  fs::create_directories(work + "/logs");
  absl::StatusOr<Git> user = Git::Open(f.repo);
  absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo =
      IntegrationRepo::Create(*user, work + "/integration.git", f.base);
  if (!repo.ok()) {
    std::cerr << repo.status() << "\n";
    exit(1);
  }
  UnsandboxedRunner sandbox;
  SandboxPolicy policy;
  policy.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  policy.limits = ResourceLimits{0, 0, 0};
  policy.timeout = std::chrono::seconds(60);
  TestGate gate(sandbox, policy, test, TestFormat::kExit, "", **repo, work + "/scratch", work + "/logs", "", "");
  absl::StatusOr<TestOutcome> head = gate.Test(TrimNewline(*(*repo)->git().Run({"rev-parse", f.base + "^{tree}"})), "base");
  std::unique_ptr<MergeQueue> queue;
  if (serial) {
    queue = std::make_unique<SerialMergeQueue>(**repo, gate, "bench", *head);
  } else {
    queue = std::make_unique<SpeculativeMergeQueue>(**repo, gate, "bench", *head,
                                                    SpeculativeMergeQueue::Options{depth, batch});
  }
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::unique_ptr<CheckStage> check;
  if (check_jobs > 0) check = std::make_unique<CheckStage>(**repo, gate, check_jobs);
  double cpu0 = ChildCpuSeconds();
  auto start = Clock::now();
  auto merged = [&](MergeResult result) {
    std::lock_guard<std::mutex> lock(mu);
    if (result.outcome == MergeResult::Outcome::kLanded) ++row.landed;
    if (result.outcome == MergeResult::Outcome::kTestsFailed) ++row.rejected;
    if (result.outcome == MergeResult::Outcome::kConflict) ++row.conflicts;
    ++done;
    cv.notify_one();
  };
  for (std::size_t i = 0; i < f.commits.size(); ++i) {
    MergeRequest r;
    r.patches.push_back({absl::StrCat("p", i), 1, f.commits[i], absl::StrCat("patch ", i), {}, ""});
    if (!check) {
      queue->Submit(r, merged);
      continue;
    }
    // Submission order into the queue is the order checks finish, as in a run.
    check->Submit(r, [&, r](CheckResult c) {
      if (c.pass) {
        queue->Submit(r, merged);
      } else {
        MergeResult m;
        m.outcome = MergeResult::Outcome::kTestsFailed;
        merged(m);
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == static_cast<int>(f.commits.size()); });
  }
  row.wall_t = std::chrono::duration<double>(Clock::now() - start).count() / (t_ms / 1000.0);
  if (check) check->Shutdown();
  queue->Shutdown();
  row.cpu_s = ChildCpuSeconds() - cpu0;
  row.tree = TrimNewline(*(*repo)->git().Run({"rev-parse", *(*repo)->Head() + "^{tree}"}));
  return row;
}

double ComposeCostMs(const Fixture& f) {
  std::string work = f.dir + "/compose";
  absl::StatusOr<Git> user = Git::Open(f.repo);
  auto repo = IntegrationRepo::Create(*user, work + "/integration.git", f.base);
  auto start = Clock::now();
  const int n = 20;
  std::string head = f.base;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::string> tree = (*repo)->MergeTree(head, f.commits[i % f.commits.size()]);
    if (tree.ok()) (void)(*repo)->CommitTree(*tree, head, "compose");
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / n;
}

}  // namespace
}  // namespace swarm

int main(int argc, char** argv) {
  int t_ms = 200, patches = 100;
  std::string mode = "both", only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--t-ms")) t_ms = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--patches")) patches = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
    if (!strcmp(argv[i], "--only")) only = argv[i + 1];  // strategies whose name contains TEXT
  }
  using namespace swarm;
  Fixture f = Generate(patches, 42);
  std::printf("merge queue benchmark: %d patches (5 break the tests, 5 conflict with earlier ones), T = %d ms, %u cores\n",
              patches, t_ms, std::thread::hardware_concurrency());
  std::printf("composing one candidate (git merge-tree + commit-tree): %.1f ms\n\n", ComposeCostMs(f));
  std::string check = "! grep -l BAD *.txt >/dev/null";
  double t = t_ms / 1000.0;
  std::vector<std::pair<std::string, std::string>> modes;
  if (mode != "cpu") modes.push_back({"latency", absl::StrCat("sleep ", t, "; ", check)});
  if (mode != "latency") {
    // A fixed amount of work that takes T on one idle core: it takes longer when cores are shared.
    auto burn = [](long n) { return absl::StrCat("i=0; while [ $i -lt ", n, " ]; do i=$((i+1)); done"); };
    auto calibrate_start = Clock::now();
    Sh("sh -c '" + burn(200000) + "'");
    double per_iteration = std::chrono::duration<double>(Clock::now() - calibrate_start).count() / 200000;
    long n = static_cast<long>(t / per_iteration);
    std::printf("cpu mode: the test counts to %ld in sh (T of CPU on one idle core)\n", n);
    modes.push_back({"cpu", absl::StrCat(burn(n), "; ", check)});
  }
  for (const auto& [m, test] : modes) {
    std::printf("mode: %s\n", m.c_str());
    std::printf("  %-30s %10s %10s %7s %9s %9s  %s\n", "strategy", "wall (T)", "CPU (s)", "landed", "rejected",
                "conflict", "same tree as serial");
    std::string serial_tree;
    struct Config { const char* name; int depth, batch; bool serial; int check_jobs; };
    int cores = static_cast<int>(std::thread::hardware_concurrency());
    // Sleeping tests do not use the CPU: 16 checks at once is fine; burning ones get one per core.
    int jobs = m == "latency" ? 16 : cores;
    std::string checked = absl::StrCat("check x", jobs, ", depth 4, batch 16");
    std::string checked8 = absl::StrCat("check x", jobs, ", depth 8, batch 16");
    for (Config c : std::vector<Config>{{"serial", 1, 1, true, 0}, {"queue depth 1", 1, 1, false, 0},
                                        {"queue depth 2", 2, 1, false, 0}, {"queue depth 4", 4, 1, false, 0},
                                        {"queue depth 8", 8, 1, false, 0}, {"depth 4, batches of 16", 4, 16, false, 0},
                                        {"depth 8, batches of 16", 8, 16, false, 0},
                                        {checked.c_str(), 4, 16, false, jobs},
                                        {checked8.c_str(), 8, 16, false, jobs}}) {
      if (!only.empty() && !c.serial && std::string(c.name).find(only) == std::string::npos) continue;
      // With --only, the reference tree comes from the fastest queue (the full table shows it equal).
      bool reference_only = c.serial && !only.empty();
      Row r = RunOne(f, c.name, reference_only ? 8 : c.depth, reference_only ? 16 : c.batch, c.serial && only.empty(),
                     c.check_jobs, test, t_ms);
      if (c.serial && !only.empty()) {  // the reference tree without timing the serial run
        serial_tree = r.tree;
        continue;
      }
      if (c.serial) serial_tree = r.tree;
      std::printf("  %-30s %10.1f %10.2f %7d %9d %9d  %s\n", c.name, r.wall_t, r.cpu_s, r.landed, r.rejected,
                  r.conflicts, r.tree == serial_tree ? "yes" : "NO");
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  std::error_code ec;
  std::filesystem::remove_all(f.dir, ec);
  return 0;
}
