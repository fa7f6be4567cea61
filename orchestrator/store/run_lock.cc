#include "orchestrator/store/run_lock.h"

#include <fcntl.h>
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

}  // namespace

absl::StatusOr<RunLock> RunLock::Acquire(const std::string& run_dir) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  int fd = open(LockPath(run_dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot open ", LockPath(run_dir), ": ", strerror(errno)));
  // Holder() takes a shared lock for an instant; a few tries keep that from looking like a live owner.
  bool locked = false;
  for (int i = 0; i < 20 && !(locked = flock(fd, LOCK_EX | LOCK_NB) == 0); ++i) usleep(10'000);
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
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    holder = ReadPid(fd);
    if (holder == 0) holder = -1;  // held, but the pid is not written yet
  } else {
    flock(fd, LOCK_UN);
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
