#include "orchestrator/store/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"

namespace swarm {
namespace {

std::string LockPath(const std::string& run_dir) { return run_dir + "/coordinator.lock"; }

int ReadPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? atoi(buf) : 0;
}

constexpr int kOrphanWaitTries = 200;  // 2 s

// The lock is held, but the coordinator that wrote its pid is gone: a child it had started was still
// between fork and exec when it died (the lock's descriptor closes at exec), and lets go within
// moments. A run resumed at once after a crash must not be taken for a live one.
bool OwnerGone(int fd) {
  const int pid = ReadPid(fd);
  return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

absl::StatusOr<RunLock> RunLock::Acquire(const std::string& run_dir) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  int fd = open(LockPath(run_dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot open ", LockPath(run_dir), ": ", strerror(errno)));
  // Holder() takes a shared lock for an instant; a few tries keep that from looking like a live owner.
  // A dead owner's child that has not exec'd yet holds it a little longer (see Holder).
  bool locked = false;
  for (int i = 0; !(locked = flock(fd, LOCK_EX | LOCK_NB) == 0); ++i) {
    if (i >= 20 && (i >= kOrphanWaitTries || !OwnerGone(fd))) break;
    usleep(10'000);
  }
  if (!locked) {
    int holder = ReadPid(fd);
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("run ", std::filesystem::path(run_dir).filename().string(),
                     " is in use by another swarm process (pid ", holder, ")"));
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    close(fd);
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", LockPath(run_dir)));
  }
  return RunLock(fd);
}

int RunLock::Holder(const std::string& run_dir) {
  int fd = open(LockPath(run_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int holder = 0;
  for (int tries = 0;; ++tries) {
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
      flock(fd, LOCK_UN);
      holder = 0;
      break;
    }
    holder = ReadPid(fd);
    if (holder == 0) holder = -1;  // held, but the pid is not written yet
    if (tries >= kOrphanWaitTries || !OwnerGone(fd)) break;
    usleep(10'000);
  }
  close(fd);
  return holder;
}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

RunLock::~RunLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace swarm
