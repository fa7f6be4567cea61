#include "sandbox/user_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "sandbox/internal/fork_policy.h"

namespace swarm {
namespace {

struct HolderArgs {
  pid_t parent;
  int ready;  // written once the child is in the namespace; -1: no need (clone puts it there at once)
};

// The child only waits, in the new namespace, to be killed once its parent has written the maps
// and opened it: the namespace lives on in that descriptor. It dies with its parent's thread, holds
// none of the parent's descriptors (the run's lock among them), and shares the parent's memory, so it
// makes no call beyond its own stack (none that fails and sets errno, in practice). Not a pipe's end
// of file: a child cloned meanwhile by another thread holds a copy of every descriptor, and two such
// children would wait on each other.
int HoldNamespace(void* arg) {
  const HolderArgs* args = static_cast<const HolderArgs*>(arg);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != args->parent) _exit(1);
  if (args->ready >= 0) (void)!write(args->ready, "1", 1);
  syscall(SYS_close_range, 3u, ~0u, 0u);
  for (;;) pause();
}

absl::Status WriteMap(pid_t pid, const char* file) {
  // Every id to itself: 0 to 2^32 - 2 (the last id, -1, is no id).
  static constexpr char kIdentity[] = "0 0 4294967295\n";
  const std::string path = absl::StrCat("/proc/", pid, "/", file);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  const bool ok = write(fd, kIdentity, sizeof kIdentity - 1) == static_cast<ssize_t>(sizeof kIdentity - 1);
  const int e = errno;
  close(fd);
  if (!ok) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path, ": ", strerror(e)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const OwnedFd>> NewIdentityUserNamespace() {
  constexpr std::size_t kStack = 64 << 10;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return absl::ResourceExhaustedError(absl::StrCat("mmap: ", strerror(errno)));
  // Under TSan the child is forked (fork_policy.h) and unshares itself: it says when it has.
  int ready[2] = {-1, -1};
  if (kForkAlways && pipe2(ready, O_CLOEXEC) != 0) {
    munmap(stack, kStack);
    return absl::ResourceExhaustedError(absl::StrCat("pipe: ", strerror(errno)));
  }
  HolderArgs args{getpid(), kForkAlways ? ready[1] : -1};
  // The child runs no handler of ours: every signal stays blocked in it (its mask is a copy).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid;
  if (kForkAlways) {
    pid = fork();
    if (pid == 0 && unshare(CLONE_NEWUSER) != 0) _exit(1);
    if (pid == 0) HoldNamespace(&args);
  } else {
    pid = clone(HoldNamespace, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_NEWUSER | SIGCHLD, &args);
  }
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  bool in_namespace = pid > 0;
  if (kForkAlways) {
    close(ready[1]);
    char byte;
    ssize_t n;
    do {
      n = pid > 0 ? read(ready[0], &byte, 1) : 0;
    } while (n < 0 && errno == EINTR);
    close(ready[0]);
    in_namespace = n == 1;
  }
  absl::StatusOr<std::shared_ptr<const OwnedFd>> made;
  if (!in_namespace) {
    made = absl::FailedPreconditionError(
        absl::StrCat("cannot create a user namespace for the sandbox: ", strerror(pid < 0 ? clone_errno : EPERM)));
  } else if (absl::Status st = WriteMap(pid, "uid_map"); !st.ok()) {
    made = st;
  } else if (st = WriteMap(pid, "gid_map"); !st.ok()) {
    made = st;
  } else {
    const std::string path = absl::StrCat("/proc/", pid, "/ns/user");
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      made = absl::InternalError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
    } else {
      made = std::make_shared<const OwnedFd>(fd);
    }
  }
  if (pid > 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  munmap(stack, kStack);
  return made;
}

}  // namespace swarm
