#include "sandbox/process.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <functional>
#include <string>

#include "testing/test_util.h"

namespace swarm {
namespace {

TEST(ProcessTest, CapturesOutputAndExitStatus) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "cat; echo err >&2; exit 7"};
  spec.stdin_data = std::string(300000, 'x');  // larger than a pipe buffer
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->out.size(), 300000u);
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->Describe(), "exit 7");
}

// What a wrapper started beside the child is ended once the child is gone, and its account ends stderr.
TEST(ProcessTest, OnExitRunsOnceTheChildIsReapedAndEndsItsStderr) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo err >&2"};
  int pid = 0;
  bool reaped = false;
  spec.on_start = [&](int p) { pid = p; };
  spec.on_exit = [&] {
    reaped = kill(pid, 0) != 0 && errno == ESRCH;
    return std::string("[note]\n");
  };
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(reaped);
  EXPECT_EQ(r->err, "err\n[note]\n");
}

// A live view gets every byte as it comes, whatever the cap keeps: the first line before the child
// has written the second (it waits for a file the test creates only once the first line arrived).
TEST(ProcessTest, OnOutputSeesEachPieceAsItIsWrittenAndAllOfIt) {
  char dir[] = "/tmp/swarm-live-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string go = std::string(dir) + "/go";
  ProcessSpec spec;
  spec.argv = {"sh", "-c",
               "echo first; while [ ! -e " + go +
                   " ]; do sleep 0.01; done; echo second >&2; head -c 100000 /dev/zero | tr '\\0' x"};
  spec.output_cap = 1000;
  std::string out, err;
  spec.on_output = [&](int stream, std::string_view piece) {
    (stream == 1 ? out : err).append(piece);
    if (out.rfind("first\n", 0) == 0 && err.empty()) close(open(go.c_str(), O_CREAT | O_WRONLY, 0600));
  };
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(err, "second\n");
  EXPECT_EQ(out.size(), 6u + 100000u);
  EXPECT_TRUE(r->output_truncated) << "the cap still holds for what is kept";
  unlink(go.c_str());
  rmdir(dir);
}

TEST(ProcessTest, MissingProgramIsNotFound) {
  ProcessSpec spec;
  spec.argv = {"swarm-no-such-program"};
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST(ProcessTest, MissingWorkingDirectoryIsAnError) {
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.cwd = "/nonexistent/swarm";
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/swarm"), std::string::npos);
}

TEST(ProcessTest, ManyConcurrentChildrenOnOneThread) {
  boost::asio::io_context io;
  int finished = 0;
  for (int i = 0; i < 50; ++i) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "sleep 0.2; echo " + std::to_string(i)};
    ASSERT_TRUE(StartProcess(io, spec, [&, i](absl::StatusOr<ProcessResult> r) {
                  ASSERT_TRUE(r.ok());
                  EXPECT_EQ(r->out, std::to_string(i) + "\n");
                  ++finished;
                }).ok());
  }
  io.run();
  EXPECT_EQ(finished, 50);
}

// Children that start as others end, on one io_context (as a host runs its agents): a long-running
// child must never be taken for exited. Once, a stale wake-up for a closed descriptor reached a new
// child's pidfd and the child was killed as "left behind".
TEST(ProcessTest, ChildrenStartingAsOthersEndAreNeverTakenForExited) {
  boost::asio::io_context io;
  int long_lived_done = 0, killed = 0;
  std::function<void(int)> start_wave = [&](int wave) {
    if (wave == 120) return;
    // A long-lived child started while short ones end around it.
    ProcessSpec sleeper;
    sleeper.argv = {"sleep", "2"};
    ASSERT_TRUE(StartProcess(io, sleeper, [&](absl::StatusOr<ProcessResult> r) {
      ++long_lived_done;
      if (r.ok() && r->term_signal != 0) ++killed;
    }).ok());
    for (int i = 0; i < 4; ++i) {
      ProcessSpec quick;
      quick.argv = {"sh", "-c", "echo out; echo err >&2"};
      ASSERT_TRUE(StartProcess(io, quick, [&, wave, i](absl::StatusOr<ProcessResult>) {
        if (i == 3) start_wave(wave + 1);
      }).ok());
    }
  };
  start_wave(0);
  io.run();
  EXPECT_EQ(long_lived_done, 120);
  EXPECT_EQ(killed, 0) << "a running child was reaped as if it had exited";
}

TEST(ProcessTest, TimeoutKillsTheGroup) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 30 & sleep 30"};
  spec.timeout = std::chrono::milliseconds(200);
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->duration.count(), 5000);
}

}  // namespace
}  // namespace swarm

namespace swarm {
namespace {

// A parent killed while its child is between clone and exec: the child must die too, not go on to
// exec a program nobody supervises (a coordinator's host or sandbox). The child is held before its
// exec on a FIFO it must open (as it opens a cgroup's procs file); the parent is killed there; then the
// FIFO is opened, which would let a surviving child go on to run `echo ran`.
TEST(ProcessTest, AChildWhoseParentDiesBeforeItsExecNeverRuns) {
  testing::TempDir dir;
  const std::string first = dir.path() + "/first", second = dir.path() + "/second";
  ASSERT_EQ(mkfifo(first.c_str(), 0600), 0);
  ASSERT_EQ(mkfifo(second.c_str(), 0600), 0);
  int ran[2];
  ASSERT_EQ(pipe(ran), 0);  // the child's program writes to ran[1]; only the child would hold it
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    close(ran[0]);
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "echo ran >&3"};
    spec.join_cgroup_procs = {first, second};
    spec.pass_fds = {std::make_shared<const OwnedFd>(ran[1])};
    (void)RunProcess(spec);
    _exit(0);
  }
  close(ran[1]);
  // The child opened the first FIFO and wrote to it: it is now held at the second.
  int f = open(first.c_str(), O_RDONLY);
  ASSERT_GE(f, 0);
  char c = 0;
  ASSERT_EQ(read(f, &c, 1), 1);
  close(f);
  ASSERT_EQ(kill(parent, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(parent, &status, 0), parent);
  // Let a surviving child through (a reader that never reads: its write of "0" fits in the FIFO).
  int s = open(second.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(s, 0);
  std::string out;
  char buf[16];
  for (ssize_t n; (n = read(ran[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(ran[0]);
  close(s);
  EXPECT_EQ(out, "") << "the orphaned child went on to run its program";
}

}  // namespace
}  // namespace swarm
