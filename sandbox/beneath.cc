#include "sandbox/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace swarm {
namespace {

constexpr std::uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

class Fd final {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int OpenBeneath(int dir_fd, const std::string& relative, std::uint64_t flags) {
  open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = flags;
  how.resolve = kResolve;
  int fd;
  do {
    fd = static_cast<int>(syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EINTR);
  return fd;
}

std::string Quoted(std::string_view relative) { return absl::StrCat("\"", absl::CHexEscape(absl::string_view(relative.data(), relative.size())), "\""); }

// What openat2's errno means to a user, for `relative`.
absl::Status OpenError(int error, std::string_view relative) {
  const std::string name = Quoted(relative);
  switch (error) {
    case ENOENT: return absl::NotFoundError(absl::StrCat(name, " does not exist"));
    case ENOTDIR: return absl::NotFoundError(absl::StrCat(name, ": a component of the path is not a directory"));
    case ELOOP: return absl::PermissionDeniedError(absl::StrCat(name, " is a symlink or lies behind one"));
    case EXDEV: return absl::PermissionDeniedError(absl::StrCat(name, " leads outside its directory"));
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(absl::StrCat(name, ": permission denied"));
    case ENXIO: return absl::FailedPreconditionError(absl::StrCat(name, " is not a regular file"));
    case ENOSYS:
      return absl::UnavailableError(absl::StrCat(name, ": the kernel has no openat2 (Linux 5.6 or later is needed)"));
    default: return absl::InternalError(absl::StrCat("cannot open ", name, ": ", std::strerror(error)));
  }
}

const char* Kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "a special file";
}

}  // namespace

absl::StatusOr<std::string> ReadFileBeneath(int dir_fd, std::string_view relative, std::size_t max_bytes) {
  const std::string path(relative);
  // First an O_PATH descriptor, which opens nothing: a device or a FIFO is refused before any open
  // with side effects. The real open then checks that it reached the same file.
  Fd probe(OpenBeneath(dir_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (probe.get() < 0) return OpenError(errno, relative);
  struct stat before;
  if (fstat(probe.get(), &before) != 0) return OpenError(errno, relative);
  // O_PATH | O_NOFOLLOW opens a link at the last component itself rather than failing.
  if (S_ISLNK(before.st_mode)) return OpenError(ELOOP, relative);
  if (!S_ISREG(before.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(Quoted(relative), " is ", Kind(before.st_mode),
                                                      ", not a regular file"));
  }
  Fd fd(OpenBeneath(dir_fd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return OpenError(errno, relative);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return OpenError(errno, relative);
  if (!S_ISREG(st.st_mode) || st.st_dev != before.st_dev || st.st_ino != before.st_ino) {
    return absl::FailedPreconditionError(absl::StrCat(Quoted(relative), " changed while it was opened"));
  }
  auto too_large = [&] {
    return absl::ResourceExhaustedError(
        absl::StrCat(Quoted(relative), " is larger than the limit of ", max_bytes, " bytes"));
  };
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) return too_large();
  std::string out;
  out.resize(std::min<std::size_t>(max_bytes, static_cast<std::size_t>(st.st_size)) + 1);
  std::size_t size = 0;
  for (;;) {
    if (size == out.size()) {
      if (size > max_bytes) return too_large();  // it grew past the cap after fstat
      out.resize(std::min(max_bytes + 1, size * 2 + 4096));
    }
    ssize_t n = read(fd.get(), out.data() + size, out.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("cannot read ", Quoted(relative), ": ", std::strerror(errno)));
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  if (size > max_bytes) return too_large();
  out.resize(size);
  return out;
}

absl::StatusOr<std::string> ReadFileBeneath(const std::string& dir, std::string_view relative,
                                            std::size_t max_bytes) {
  Fd dir_fd(open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open the directory ", dir, ": ", std::strerror(errno)));
  }
  return ReadFileBeneath(dir_fd.get(), relative, max_bytes);
}

absl::Status RemoveFileBeneath(const std::string& dir, std::string_view relative) {
  const std::string path(relative);
  const std::size_t slash = path.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    return absl::InvalidArgumentError(absl::StrCat(Quoted(relative), " does not name a file"));
  }
  Fd dir_fd(open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open the directory ", dir, ": ", std::strerror(errno)));
  }
  Fd parent_fd(OpenBeneath(dir_fd.get(), parent.empty() ? "/" : parent, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (parent_fd.get() < 0) return errno == ENOENT ? absl::OkStatus() : OpenError(errno, relative);
  if (unlinkat(parent_fd.get(), base.c_str(), 0) != 0 && errno != ENOENT) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot remove ", Quoted(relative), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status TruncateFileBeneath(int dir_fd, std::string_view relative, bool even_with_other_names) {
  Fd fd(OpenBeneath(dir_fd, std::string(relative), O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) return errno == ENOENT ? absl::OkStatus() : OpenError(errno, relative);
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return absl::OkStatus();
  if (st.st_nlink > 1 && !even_with_other_names) return absl::OkStatus();  // maybe another tree's
  if (ftruncate(fd.get(), 0) != 0) {
    return absl::InternalError(absl::StrCat("cannot empty ", Quoted(relative), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace swarm
