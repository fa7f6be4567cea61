#include "orchestrator/store/cancel_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace swarm {

absl::Status WriteCancelFile(const std::string& run_dir, const std::string& reason) {
  const std::string file = CancelFilePath(run_dir);
  const std::string line = reason + "\n";
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  const bool ok = fd >= 0 && write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  int error = errno;
  if (fd >= 0 && close(fd) != 0 && ok) error = errno;
  if (ok) return absl::OkStatus();
  unlink(file.c_str());
  const std::string why = absl::StrCat("cannot write ", file, ": ", strerror(error));
  return error == EACCES || error == EPERM ? absl::PermissionDeniedError(why) : absl::ResourceExhaustedError(why);
}

}  // namespace swarm
