#include "sandbox/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sandbox/internal/fork_policy.h"

extern char** environ;

namespace swarm {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Output kept under a cap: the head and the tail (where failures are), with the middle dropped.
struct Capture {
  std::string head, tail;
  std::size_t total = 0;

  void Append(const char* p, std::size_t n, std::size_t cap) {
    total += n;
    std::size_t half = cap / 2;
    std::size_t h = std::min(n, half > head.size() ? half - head.size() : 0);
    head.append(p, h);
    tail.append(p + h, n - h);
    if (tail.size() > cap - half + 65536) tail.erase(0, tail.size() - (cap - half));
  }
  std::string Render(std::size_t cap, bool* truncated) {
    if (total <= cap) return head + tail;
    *truncated = true;
    if (tail.size() > cap - cap / 2) tail.erase(0, tail.size() - (cap - cap / 2));
    return absl::StrCat(head, "\n[swarm: ", total - head.size() - tail.size(), " bytes of output omitted]\n", tail);
  }
};

// Everything one running child needs until its callback runs; co-owned by the pending async ops.
struct Running : std::enable_shared_from_this<Running> {
  Running(asio::io_context& io) : pidfd(io), out(io), err(io), in(io), timer(io) {}

  asio::posix::stream_descriptor pidfd, out, err, in;
  asio::steady_timer timer;
  pid_t pid = 0;
  ProcessResult result;
  std::size_t cap = 0;
  std::string stdin_data;
  std::function<void()> on_timeout;
  std::function<std::string()> on_exit;
  std::function<void(int, std::string_view)> on_output;
  ProcessCallback done;
  Clock::time_point start;
  int open_ops = 0;  // pidfd wait + two readers
  bool reaped = false;
  Capture capture[2];
  char buf[2][16384];

  void Finish() {
    if (--open_ops > 0) return;
    timer.cancel();
    result.out = capture[0].Render(cap, &result.output_truncated);
    result.err = capture[1].Render(cap, &result.output_truncated);
    if (on_exit) result.err += on_exit();
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    auto cb = std::move(done);
    cb(std::move(result));
  }

  void Read(int which) {
    auto& sd = which == 0 ? out : err;
    sd.async_read_some(asio::buffer(buf[which]),
                       [self = shared_from_this(), which](boost::system::error_code ec, std::size_t n) {
                         if (ec) {
                           self->Finish();
                           return;
                         }
                         self->capture[which].Append(self->buf[which], n, self->cap);
                         if (self->on_output) self->on_output(which + 1, std::string_view(self->buf[which], n));
                         self->Read(which);
                       });
  }

  // Whether the child has exited, without reaping it; -1 when it is not ours to wait for any more.
  int Exited() const {
    siginfo_t info{};
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid != 0 ? 1 : 0;
  }

  void WaitExit() {
    pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       // The wake-up alone is not proof of exit: now and then (children starting
                       // as others end) it comes for a live child, and acting on it would kill that
                       // child. Ask the kernel; if the child still runs, wait again (by polling if
                       // the wait itself failed).
                       if (self->Exited() == 0) {
                         if (!ec) {
                           self->WaitExit();
                         } else {
                           self->PollExit();
                         }
                         return;
                       }
                       self->Reap();
                     });
  }

  void PollExit() {
    auto poll = std::make_shared<asio::steady_timer>(pidfd.get_executor(), std::chrono::milliseconds(50));
    poll->async_wait([self = shared_from_this(), poll](boost::system::error_code) {
      if (self->Exited() == 0) {
        self->PollExit();
      } else {
        self->Reap();
      }
    });
  }

  void Reap() {
    if (Exited() == 1) {
      // Whatever the command left behind in its group goes with it, so the output pipes close.
      // Done before reaping: until then the exited leader holds its pid, so the group id cannot
      // belong to anyone else.
      kill(-pid, SIGKILL);
      int status = 0;
      if (waitpid(pid, &status, 0) == pid) {
        if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
      }
    }
    reaped = true;
    Finish();
  }
};

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// A file of a private /etc, for the child to write.
struct EtcFile {
  const char* path;
  const char* data;
  std::size_t size;
};

// The child's failure stage for attaching tree i of its mount namespace: kAttachStage + i.
constexpr int kAttachStage = 100;

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void ExecChild(const char* path, char** argv, char** envp, const char* cwd, int in_fd, int out_fd,
                            int err_fd, int report_fd, const std::vector<const char*>& cgroups,
                            const std::vector<ProcessSpec::Limit>& limits, const std::vector<int>& pass_fds,
                            int new_umask, int user_namespace, const EtcFile* etc, int etc_count, pid_t parent,
                            bool die_with_parent, int mount_base, const int* trees, const char* const* tree_paths,
                            int tree_count) {
  // A child whose parent is already gone stops here: a coordinator killed now must not leave a child
  // that goes on to exec unsupervised, or keeps the run lock's descriptor while a resume starts. One
  // that must die with its parent (a host, a sandbox) is told so first, from before its exec on.
  if (die_with_parent) prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  // Passed files go to 3, 4, ...: whatever holds those numbers now (the pipes) moves up first.
  const int first_free = 3 + static_cast<int>(pass_fds.size());
  if (report_fd < first_free) report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, first_free);
  if (report_fd < 0) _exit(127);
  auto fail = [report_fd](int stage) {
    int e[2] = {stage, errno};
    (void)!write(report_fd, e, sizeof e);
    _exit(127);
  };
  // A descriptor that cannot be moved is a failure, never a step skipped (a namespace not joined).
  auto above = [&](int fd) {
    if (fd < 0 || fd >= first_free) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, first_free);
    if (moved < 0) fail(1);
    return moved;
  };
  user_namespace = above(user_namespace);
  mount_base = above(mount_base);
  int tree_fds[64];
  for (int i = 0; i < tree_count && i < 64; ++i) tree_fds[i] = above(trees[i]);
  setpgid(0, 0);
  // Every signal is blocked here (SpawnChild): the parent's handlers must not run in a child that
  // shares its memory. Back to the defaults first, then unblocked.
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) fail(1);
  int moved[16];
  for (std::size_t i = 0; i < pass_fds.size() && i < 16; ++i) {
    moved[i] = fcntl(pass_fds[i], F_DUPFD_CLOEXEC, first_free);
    if (moved[i] < 0) fail(1);
  }
  for (std::size_t i = 0; i < pass_fds.size() && i < 16; ++i) {
    if (dup2(moved[i], 3 + static_cast<int>(i)) < 0) fail(1);
  }
  for (const char* procs : cgroups) {
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) fail(2);
    close(fd);
  }
  for (const auto& l : limits) {
    struct rlimit r{l.value, l.value};
    if (setrlimit(l.resource, &r) != 0) fail(3);
  }
  if (mount_base >= 0) {  // a copy of the base namespace (which sets the root and cwd to its own)
    if (setns(mount_base, CLONE_NEWNS) != 0 || unshare(CLONE_NEWNS) != 0) fail(8);
    for (int i = 0; i < tree_count; ++i) {
      if (syscall(SYS_move_mount, tree_fds[i], "", AT_FDCWD, tree_paths[i], MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        fail(kAttachStage + i);
      }
    }
  }
  if (cwd != nullptr && chdir(cwd) != 0) fail(4);
  if (new_umask >= 0) umask(static_cast<mode_t>(new_umask));
  if (user_namespace >= 0 && setns(user_namespace, CLONE_NEWUSER) != 0) fail(6);
  if (etc_count >= 0) {  // a private /etc and /run
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail(7);
    constexpr unsigned long kFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("swarm-run", "/run", "tmpfs", kFlags, "mode=0755,size=65536") != 0 ||
        mount("swarm-etc", "/etc", "tmpfs", kFlags, "mode=0755,size=16m,nr_inodes=64") != 0) {
      fail(7);
    }
    for (int i = 0; i < etc_count; ++i) {
      int f = openat(AT_FDCWD, etc[i].path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (f < 0) fail(7);
      for (std::size_t done = 0; done < etc[i].size;) {
        ssize_t n = write(f, etc[i].data + done, etc[i].size - done);
        if (n <= 0) fail(7);
        done += static_cast<std::size_t>(n);
      }
      close(f);
    }
    if (mount(nullptr, "/etc", nullptr, MS_REMOUNT | MS_RDONLY | kFlags, nullptr) != 0) fail(7);
  }
  syscall(SYS_close_range, 3u + static_cast<unsigned>(pass_fds.size()), ~0u, CLOSE_RANGE_CLOEXEC);
  execve(path, argv, envp);
  fail(5);
  _exit(127);
}

struct ChildArgs {
  const char* path;
  char** argv;
  char** envp;
  const char* cwd;
  int in_fd, out_fd, err_fd, report_fd;
  const std::vector<const char*>* cgroups;
  const std::vector<ProcessSpec::Limit>* limits;
  const std::vector<int>* pass_fds;
  int new_umask;
  int user_namespace;
  const EtcFile* etc;
  int etc_count;
  pid_t parent;
  bool die_with_parent;
  int mount_base;
  const int* trees;
  const char* const* tree_paths;
  int tree_count;
};

int ChildMain(void* p) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(p);
  ExecChild(a.path, a.argv, a.envp, a.cwd, a.in_fd, a.out_fd, a.err_fd, a.report_fd, *a.cgroups, *a.limits, *a.pass_fds,
            a.new_umask, a.user_namespace, a.etc, a.etc_count, a.parent, a.die_with_parent, a.mount_base, a.trees,
            a.tree_paths, a.tree_count);
}

// Starts the child. A fork copies the parent's page tables, which costs what the parent holds (a
// coordinator with a thousand agents holds hundreds of MiB) on every git and sandbox start; a child
// that shares the parent's memory until it execs (what posix_spawn does) costs nothing of the kind.
// Entering a user namespace needs a process of its own memory (the kernel refuses it to a process
// that shares it), so that case still forks, as does every child under TSan (fork_policy.h).
pid_t SpawnChild(ChildArgs& args) {
  if (args.user_namespace >= 0 || kForkAlways) {
    pid_t pid = fork();
    if (pid == 0) ChildMain(&args);
    return pid;
  }
  constexpr std::size_t kStack = 256 << 10;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  // Signals stay blocked until the child has put their handlers back to the defaults (as
  // posix_spawn does): a handler of the parent's running in the child would run on shared memory.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // CLONE_VFORK: this thread waits until the child has exec'd or exited, so the stack and `args`
  // outlive its use of them; the process's other threads go on.
  pid_t pid = clone(ChildMain, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  munmap(stack, kStack);
  errno = e;
  return pid;
}

}  // namespace

OwnedFd::~OwnedFd() {
  if (fd_ >= 0) close(fd_);
}

std::string ProcessResult::Describe() const {
  if (timed_out) return absl::StrCat("timed out after ", duration.count() / 1000.0, "s");
  if (term_signal != 0) return absl::StrCat("killed by signal ", term_signal);
  return absl::StrCat("exit ", exit_code);
}

std::string FindInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

absl::Status StartProcess(asio::io_context& io, ProcessSpec spec, ProcessCallback done) {
  // A child that exits before reading its stdin must not kill us with SIGPIPE.
  static const bool sigpipe_ignored = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  if (spec.argv.empty()) return absl::InvalidArgumentError("empty command line");
  std::string path = FindInPath(spec.argv[0]);
  if (path.empty()) return absl::NotFoundError(absl::StrCat(spec.argv[0], ": command not found"));

  std::vector<std::string> env_storage;
  char** envp = environ;
  std::vector<char*> env_ptrs;
  if (spec.env) {
    env_ptrs = CStrings(*spec.env);
    envp = env_ptrs.data();
  }
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<const char*> cgroups;
  for (const auto& c : spec.join_cgroup_procs) cgroups.push_back(c.c_str());
  if (spec.pass_fds.size() > 16) return absl::InvalidArgumentError("more than 16 files passed to a child");
  if (spec.mount_namespace && spec.mount_namespace->trees.size() > 64) {
    return absl::InvalidArgumentError("more than 64 trees attached in a child's mount namespace");
  }
  std::vector<int> pass_fds;
  for (const auto& f : spec.pass_fds) pass_fds.push_back(f->get());

  int in[2], out[2], err[2], report[2];
  if (pipe2(in, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("pipe: ", strerror(errno)));
  }
  auto close_all = [&] {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1], report[0], report[1]}) close(fd);
  };
  // The files of a private /etc, as the child writes them (under /etc, named plainly).
  std::vector<std::string> etc_paths;
  std::vector<EtcFile> etc;
  if (spec.private_etc) {
    std::size_t total = 0;
    for (const auto& [name, content] : *spec.private_etc) {
      total += content.size();
      if (name.empty() || name.find('/') != std::string::npos || name[0] == '.' || total > kMaxPrivateEtcBytes ||
          spec.private_etc->size() > 16) {
        close_all();
        return absl::InvalidArgumentError("a private /etc holds up to 16 plainly named files, 8 MiB in all");
      }
      etc_paths.push_back("/etc/" + name);
    }
    for (std::size_t i = 0; i < etc_paths.size(); ++i) {
      etc.push_back(
          EtcFile{etc_paths[i].c_str(), (*spec.private_etc)[i].second.data(), (*spec.private_etc)[i].second.size()});
    }
  }
  std::vector<int> trees;
  std::vector<const char*> tree_paths;
  if (spec.mount_namespace) {
    for (const auto& [tree, where] : spec.mount_namespace->trees) {
      trees.push_back(tree->get());
      tree_paths.push_back(where.c_str());
    }
  }
  ChildArgs child{path.c_str(),
                  argv.data(),
                  envp,
                  spec.cwd.empty() ? nullptr : spec.cwd.c_str(),
                  in[0],
                  out[1],
                  err[1],
                  report[1],
                  &cgroups,
                  &spec.rlimits,
                  &pass_fds,
                  spec.umask ? static_cast<int>(*spec.umask) : -1,
                  spec.user_namespace ? spec.user_namespace->get() : -1,
                  etc.data(),
                  spec.private_etc ? static_cast<int>(etc.size()) : -1,
                  getpid(),
                  spec.die_with_parent,
                  spec.mount_namespace ? spec.mount_namespace->base->get() : -1,
                  trees.data(),
                  tree_paths.data(),
                  static_cast<int>(trees.size())};
  pid_t pid = SpawnChild(child);
  if (pid < 0) {
    int e = errno;
    close_all();
    return absl::ResourceExhaustedError(absl::StrCat("fork: ", strerror(e)));
  }
  setpgid(pid, pid);  // also done by the child: whichever runs first wins the race harmlessly
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(report[1]);
  int failure[2] = {0, 0};
  ssize_t n;
  do {
    n = read(report[0], failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == sizeof failure) {
    waitpid(pid, nullptr, 0);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    static const char* kStage[] = {"",
                                   "dup2",
                                   "joining cgroup",
                                   "setrlimit",
                                   "chdir",
                                   "exec",
                                   "joining a user namespace",
                                   "making /etc and /run private",
                                   "starting in the sandbox's mount namespace"};
    std::string what = absl::StrCat(spec.argv[0], ": ", kStage[failure[0] % 9], ": ", strerror(failure[1]));
    const int tree = failure[0] - kAttachStage;
    if (spec.mount_namespace && tree >= 0 && tree < static_cast<int>(spec.mount_namespace->trees.size())) {
      what = absl::StrCat(spec.argv[0], ": attaching ", spec.mount_namespace->trees[tree].second,
                          " in the sandbox's mount namespace: ", strerror(failure[1]));
    }
    if (failure[0] == 4) return absl::NotFoundError(absl::StrCat(what, " (", spec.cwd, ")"));
    return absl::FailedPreconditionError(what);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return absl::InternalError(absl::StrCat("pidfd_open: ", strerror(e)));
  }

  if (spec.on_start) spec.on_start(pid);
  auto r = std::make_shared<Running>(io);
  r->pid = pid;
  r->result.pid = pid;
  r->cap = spec.output_cap;
  r->stdin_data = std::move(spec.stdin_data);
  r->on_timeout = std::move(spec.on_timeout);
  r->on_exit = std::move(spec.on_exit);
  r->on_output = std::move(spec.on_output);
  r->done = std::move(done);
  r->start = Clock::now();
  r->pidfd.assign(pidfd);
  r->out.assign(out[0]);
  r->err.assign(err[0]);
  r->in.assign(in[1]);
  r->open_ops = 3;
  r->Read(0);
  r->Read(1);
  r->WaitExit();
  if (r->stdin_data.empty()) {
    r->in.close();
  } else {
    asio::async_write(r->in, asio::buffer(r->stdin_data),
                      [r](boost::system::error_code, std::size_t) { r->in.close(); });
  }
  if (spec.timeout.count() > 0) {
    r->timer.expires_after(spec.timeout);
    r->timer.async_wait([r](boost::system::error_code ec) {
      if (ec) return;
      if (r->reaped) return;  // its pid may already be someone else's
      r->result.timed_out = true;
      if (r->on_timeout) r->on_timeout();
      kill(-r->pid, SIGKILL);
      kill(r->pid, SIGKILL);
    });
  }
  return absl::OkStatus();
}

void AlsoOnStart(ProcessSpec& spec, std::function<void(int pid)> f) {
  spec.on_start = [first = std::move(spec.on_start), then = std::move(f)](int pid) {
    if (first) first(pid);
    then(pid);
  };
}

absl::StatusOr<ProcessResult> RunProcess(ProcessSpec spec) {
  asio::io_context io;
  absl::StatusOr<ProcessResult> result = absl::InternalError("process did not finish");
  absl::Status started =
      StartProcess(io, std::move(spec), [&](absl::StatusOr<ProcessResult> r) { result = std::move(r); });
  if (!started.ok()) return started;
  io.run();
  return result;
}

}  // namespace swarm
