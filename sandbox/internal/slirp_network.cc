#include "sandbox/internal/slirp_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/route.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace swarm {
namespace {

namespace asio = boost::asio;

// How long slirp4netns may take to bring the tap device up (it takes milliseconds).
constexpr auto kReadyTimeout = std::chrono::seconds(20);

absl::Status Errno(const std::string& what) { return absl::InternalError(absl::StrCat(what, ": ", strerror(errno))); }

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
void PidfdKill(int pidfd) {
  if (pidfd >= 0) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
}
bool Alive(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return pidfd >= 0 && poll(&p, 1, 0) == 0;
}

// The pid in bubblewrap's --info-fd report, `{ "child-pid": 1234, ... }`.
std::optional<pid_t> ChildPid(const std::string& info) {
  auto key = info.find("\"child-pid\"");
  if (key == std::string::npos) return std::nullopt;
  auto digits = info.find_first_of("0123456789", key + 11);
  if (digits == std::string::npos || info.find_first_not_of(" \t\n:", key + 11) != digits) return std::nullopt;
  pid_t pid = 0;
  for (auto i = digits; i < info.size() && isdigit(static_cast<unsigned char>(info[i])) && pid < 100'000'000; ++i) {
    pid = pid * 10 + (info[i] - '0');
  }
  return pid > 1 ? std::optional<pid_t>(pid) : std::nullopt;
}

// Whether bubblewrap's child `pid` is done with what it sets up in its network namespace before
// slirp4netns may touch it: the loopback, up (its subnet's broadcast route is there; slirp4netns
// would bring it up too, and bubblewrap fails on the address it then finds), and as an ordinary
// user the uid and gid maps it writes next (before them, joining its user namespace gives no
// capabilities in it).
bool SandboxSetUp(pid_t pid, bool user_namespace) {
  std::vector<std::string> files = {"net/fib_trie"};
  if (user_namespace) files.insert(files.end(), {"uid_map", "gid_map"});
  for (const auto& file : files) {
    int fd = open(absl::StrCat("/proc/", pid, "/", file).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0) return false;
    if (file == "net/fib_trie" &&
        std::string_view(buf, static_cast<std::size_t>(n)).find("127.255.255.255") == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// The host's /etc/`name` (wherever it leads), at most `most` bytes (cut at a line when `lines`); empty
// when it cannot be read.
std::string EtcFileText(const char* name, std::size_t most, bool lines) {
  std::ifstream in(absl::StrCat("/etc/", name), std::ios::binary);
  std::string text(most + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > most) text.resize(lines ? text.rfind('\n', most - 1) + 1 : 0);
  return text;
}

bool SameNamespace(int fd, const char* path) {
  struct stat a = {};
  struct stat b = {};
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Adds `unreachable 169.254.0.0/16` to the namespace `netns` (owned by `userns`, or -1 when it is
// ours): the command gets EHOSTUNREACH at once, and the sandbox has no CAP_NET_ADMIN to undo it. A
// child does it: joining a user namespace needs a single-threaded process. Only system calls run
// between fork and _exit.
absl::Status AddMetadataRoute(int netns, int userns) {
  rtentry route{};
  auto* dst = reinterpret_cast<sockaddr_in*>(&route.rt_dst);
  dst->sin_family = AF_INET;
  inet_pton(AF_INET, "169.254.0.0", &dst->sin_addr);
  auto* mask = reinterpret_cast<sockaddr_in*>(&route.rt_genmask);
  mask->sin_family = AF_INET;
  inet_pton(AF_INET, "255.255.0.0", &mask->sin_addr);
  route.rt_flags = RTF_UP | RTF_REJECT;
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return Errno("pipe");
  pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    return Errno("fork");
  }
  if (pid == 0) {
    int stage = 0;
    if (userns >= 0 && setns(userns, CLONE_NEWUSER) != 0) {
      stage = 1;
    } else if (setns(netns, CLONE_NEWNET) != 0) {
      stage = 2;
    } else if (int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); s < 0 || ioctl(s, SIOCADDRT, &route) != 0) {
      stage = 3;
    }
    if (stage != 0) {
      int e[2] = {stage, errno};
      (void)!write(report[1], e, sizeof e);
    }
    _exit(stage);
  }
  close(report[1]);
  int failure[2] = {0, 0};
  ssize_t n;
  do {
    n = read(report[0], failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == sizeof failure) {
    static const char* kStage[] = {"", "joining its user namespace", "joining its network namespace",
                                   "adding the route"};
    return absl::InternalError(absl::StrCat("cannot close 169.254.0.0/16 in the sandbox (", kStage[failure[0] % 4],
                                            "): ", strerror(failure[1])));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError("cannot close 169.254.0.0/16 in the sandbox: the helper process died");
  }
  return absl::OkStatus();
}

// One command's network, from bubblewrap's report to slirp4netns's end. Co-owned by the thread that
// brings it up and by the command's on_exit.
class Bringup final : public std::enable_shared_from_this<Bringup> {
 public:
  Bringup(std::string binary, std::vector<std::string> cgroups, int info, int block, int exit_fd, int cancel)
      : binary_(std::move(binary)),
        cgroups_(std::move(cgroups)),
        info_(info),
        block_(block),
        exit_fd_(std::make_shared<const OwnedFd>(exit_fd)),
        cancel_(cancel) {}

  ~Bringup() {
    if (slirp_pidfd_ >= 0) close(slirp_pidfd_);
    if (sandbox_pidfd_ >= 0) close(sandbox_pidfd_);
  }

  // The thread's body.
  void Run() {
    struct Finished {
      Bringup* self;
      ~Finished() {
        absl::MutexLock lock(&self->mu_);
        self->finished_ = true;
      }
    } finished{this};
    std::optional<pid_t> pid = SandboxPid();
    if (!pid) return;
    if (absl::Status st = Start(*pid); !st.ok()) Fail(std::string(st.message()));
    io_.run();
  }

  // The command's on_exit: kills slirp4netns, waits for the thread, says why the network failed.
  std::string Stop() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    std::uint64_t one = 1;
    (void)!write(cancel_.get(), &one, sizeof one);
    PidfdKill(slirp_pidfd_);
    mu_.Await(absl::Condition(&finished_));
    if (failure_.empty()) return "";
    return absl::StrCat(
        "\n[swarm: the sandbox's network could not be brought up, so the command did not run: ", failure_, "]\n");
  }

 private:
  // Reads bubblewrap's report of its child (in whose namespaces the command will run); nullopt when
  // bubblewrap ended first or the command is over.
  std::optional<pid_t> SandboxPid() {
    std::string info;
    char buf[512];
    while (info.size() < 4096) {
      pollfd fds[2] = {{info_.get(), POLLIN, 0}, {cancel_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return std::nullopt;
      }
      if (fds[1].revents != 0) return std::nullopt;
      ssize_t n = read(info_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      info.append(buf, static_cast<std::size_t>(n));
    }
    if (info.empty()) return std::nullopt;  // bubblewrap never made the namespaces
    std::optional<pid_t> pid = ChildPid(info);
    if (!pid) {
      // Which process to kill is unknown: block_ stays open and bubblewrap waits until its time-out.
      absl::MutexLock lock(&mu_);
      failure_ = absl::StrCat("bubblewrap's report names no child: ", info.substr(0, 200));
    }
    return pid;
  }

  absl::Status Start(pid_t pid) {
    int sandbox_pidfd;  // sandbox_pidfd_, which only this thread sets
    {
      absl::MutexLock lock(&mu_);
      sandbox_pidfd_ = PidfdOpen(pid);
      if (sandbox_pidfd_ < 0) return Errno("the sandbox's process is gone");
      sandbox_pidfd = sandbox_pidfd_;
    }
    std::string netns_path = absl::StrCat("/proc/", pid, "/ns/net");
    netns_ = std::make_shared<const OwnedFd>(open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (netns_->get() < 0) return Errno("cannot open the sandbox's network namespace");
    // As an ordinary user the namespace belongs to bubblewrap's user namespace: slirp4netns runs in
    // that one, as its root (the user, with capabilities over the namespace alone), and so does the
    // route. NS_GET_USERNS, because bubblewrap's child moves on into a nested one (--disable-userns),
    // where slirp4netns's own way in (/proc/PID/ns/user) would leave it no rights over the network.
    userns_ = std::make_shared<const OwnedFd>(ioctl(netns_->get(), NS_GET_USERNS));
    if (userns_->get() < 0) return Errno("cannot find the owner of the sandbox's network namespace");
    const bool join_userns = !SameNamespace(userns_->get(), "/proc/self/ns/user");
    // Well under a millisecond, usually: it is what the child does first once bubblewrap lets it go on.
    auto give_up = std::chrono::steady_clock::now() + kReadyTimeout;
    while (!SandboxSetUp(pid, join_userns)) {
      if (!Alive(sandbox_pidfd)) return absl::OkStatus();  // bubblewrap failed: it says why
      if (std::chrono::steady_clock::now() > give_up) {
        return absl::DeadlineExceededError("bubblewrap did not set the sandbox's loopback and user namespace up");
      }
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return absl::OkStatus();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }

    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return Errno("pipe");
    ready_.emplace(io_, ready[0]);
    ProcessSpec slirp;
    slirp.argv = {
        binary_,        "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
        "--ready-fd=3", "--exit-fd=4"};
    slirp.pass_fds = {std::make_shared<const OwnedFd>(ready[1]), exit_fd_};
    if (join_userns) {
      slirp.user_namespace = userns_;
      // Its child would otherwise go by /proc/PID/ns/user too; the one it is in already.
      slirp.argv.push_back("--userns-path=/proc/self/fd/5");
      slirp.pass_fds.push_back(userns_);
    }
    slirp.argv.insert(slirp.argv.end(), {std::to_string(pid), "tap0"});
    slirp.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    // Its own sandbox keeps /etc and /run: /run holds the sockets of docker, D-Bus and ssh or gpg
    // agents, /etc the machine's accounts, keys and configuration, which a hole in libslirp could then
    // reach. It gets an empty /run and an /etc with only copies of the resolver's file (all libslirp
    // reads there) and of the dynamic loader's cache.
    slirp.private_etc.emplace();
    slirp.private_etc->emplace_back("resolv.conf", EtcFileText("resolv.conf", 16 << 10, true));
    // The dynamic loader's cache, read once: libslirp may live where only /etc/ld.so.conf.d says.
    static const std::string ld_cache = EtcFileText("ld.so.cache", kMaxPrivateEtcBytes - (16 << 10), false);
    if (!ld_cache.empty()) slirp.private_etc->emplace_back("ld.so.cache", ld_cache);
    slirp.cwd = "/";
    slirp.output_cap = 16 << 10;
    slirp.join_cgroup_procs = cgroups_;
    // Started from the bring-up's own thread, which ends before it does; it exits when the last copy
    // of the exit pipe closes, which a dead sandbox or coordinator closes too.
    slirp.die_with_parent = false;
    auto self = shared_from_this();
    // Runs within StartProcess, under mu_.
    slirp.on_start = [self](int slirp_pid) {
      self->mu_.AssertHeld();
      self->slirp_pidfd_ = PidfdOpen(slirp_pid);
    };
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::OkStatus();
      absl::Status started = StartProcess(io_, std::move(slirp),
                                          [self](absl::StatusOr<ProcessResult> r) { self->OnSlirpExit(std::move(r)); });
      if (!started.ok()) return absl::FailedPreconditionError(absl::StrCat("slirp4netns: ", started.message()));
    }
    exit_fd_.reset();  // slirp4netns alone holds it now
    timer_.expires_after(kReadyTimeout);
    timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->Fail(absl::StrCat("slirp4netns was not ready after ", kReadyTimeout.count(), "s"));
    });
    asio::async_read(
        *ready_, asio::buffer(ready_byte_, 1), [self, join_userns](boost::system::error_code ec, std::size_t) {
          self->timer_.cancel();
          if (ec) return;  // slirp4netns ended before it was ready: OnSlirpExit says why
          absl::Status route = AddMetadataRoute(self->netns_->get(), join_userns ? self->userns_->get() : -1);
          if (!route.ok()) {
            self->Fail(std::string(route.message()));
            return;
          }
          absl::MutexLock lock(&self->mu_);
          self->up_ = true;
          // The command may run.
          if (!self->stopping_) (void)!write(self->block_.get(), "1", 1);
        });
    return absl::OkStatus();
  }

  void OnSlirpExit(absl::StatusOr<ProcessResult> r) {
    timer_.cancel();
    ready_->close();
    absl::MutexLock lock(&mu_);
    if (slirp_pidfd_ >= 0) close(slirp_pidfd_);
    slirp_pidfd_ = -1;
    if (up_ || stopping_) return;  // its end after the network was up is the sandbox's
    std::string why =
        r.ok() ? absl::StrCat("slirp4netns ", r->Describe(), ": ", r->err) : std::string(r.status().message());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    if (why.size() > 2000) why = "..." + why.substr(why.size() - 2000);
    if (absl::StrContains(why, "/dev/net/tun")) {
      why +=
          " (slirp4netns opens /dev/net/tun as the user swarm runs as: it must be readable and writable by "
          "them, as udev makes it (0666))";
    }
    FailLocked(why);
  }

  void Fail(const std::string& why) {
    absl::MutexLock lock(&mu_);
    FailLocked(why);
  }

  // The command must not run: kill the sandbox while bubblewrap still waits on block_ (closing
  // block_ first would let it go on without a network), then slirp4netns. A sandbox that ended
  // first (bubblewrap failed, or its time-out came) has said why itself.
  void FailLocked(const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (failure_.empty() && !stopping_ && Alive(sandbox_pidfd_)) failure_ = why;
    PidfdKill(sandbox_pidfd_);
    PidfdKill(slirp_pidfd_);
  }

  // Set at construction.
  const std::string binary_;
  const std::vector<std::string> cgroups_;  // cgroup.procs files slirp4netns joins
  const OwnedFd info_;                      // bubblewrap's --info-fd, read end
  const OwnedFd block_;                     // bubblewrap's --block-fd, write end: a byte lets the command run
  std::shared_ptr<const OwnedFd> exit_fd_;  // bubblewrap's --sync-fd, read end: slirp4netns's --exit-fd
  const OwnedFd cancel_;                    // an eventfd: Stop() wakes SandboxPid()

  // Owned by the thread.
  asio::io_context io_;
  asio::steady_timer timer_{io_};
  std::optional<asio::posix::stream_descriptor> ready_;
  char ready_byte_[1] = {0};
  std::shared_ptr<const OwnedFd> netns_, userns_;

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // the thread has returned
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // the command is over
  bool up_ ABSL_GUARDED_BY(mu_) = false;        // the command was let go with its network
  int slirp_pidfd_ ABSL_GUARDED_BY(mu_) = -1;
  int sandbox_pidfd_ ABSL_GUARDED_BY(mu_) = -1;
  std::string failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<SlirpNetwork>> SlirpNetwork::Create() {
  std::string binary = FindInPath("slirp4netns");
  if (binary.empty()) {
    return absl::FailedPreconditionError(
        "--agent-network needs slirp4netns, which is not installed: apt-get install slirp4netns");
  }
  return std::unique_ptr<SlirpNetwork>(new SlirpNetwork(std::move(binary)));
}

absl::Status SlirpNetwork::Attach(ProcessSpec& spec) const {
  int info[2], block[2], sync[2];
  if (pipe2(info, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(block, O_CLOEXEC) != 0) {
    close(info[0]);
    close(info[1]);
    return Errno("pipe");
  }
  if (pipe2(sync, O_CLOEXEC) != 0) {
    for (int fd : {info[0], info[1], block[0], block[1]}) close(fd);
    return Errno("pipe");
  }
  int cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cancel < 0) {
    for (int fd : {info[0], info[1], block[0], block[1], sync[0], sync[1]}) close(fd);
    return Errno("eventfd");
  }
  auto bringup = std::make_shared<Bringup>(binary_, spec.join_cgroup_procs, info[0], block[1], sync[0], cancel);
  const int first = 3 + static_cast<int>(spec.pass_fds.size());
  for (int fd : {info[1], block[0], sync[1]}) spec.pass_fds.push_back(std::make_shared<const OwnedFd>(fd));
  spec.argv.insert(spec.argv.begin() + 1, {"--info-fd", std::to_string(first), "--block-fd", std::to_string(first + 1),
                                           "--sync-fd", std::to_string(first + 2)});
  try {
    std::thread([bringup] { bringup->Run(); }).detach();
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot start a thread for the sandbox's network: ", e.what()));
  }
  spec.on_exit = [bringup, previous = std::move(spec.on_exit)] {
    return absl::StrCat(previous ? previous() : "", bringup->Stop());
  };
  return absl::OkStatus();
}

}  // namespace swarm
