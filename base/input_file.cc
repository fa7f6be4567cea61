#include "base/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/terminal_text.h"

namespace swarm {

absl::StatusOr<std::string> ReadInputFile(const std::string& path, absl::string_view what, std::size_t cap) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", TerminalSafe(path), ": ", why));
  };
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return bad(strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return bad(strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return bad("not a regular file");
  }
  std::string text;
  char buf[1 << 16];
  while (text.size() <= cap) {  // at most cap + 1 bytes: enough to know it is too large
    ssize_t n = read(fd, buf, std::min(sizeof buf, cap + 1 - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return bad(strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  if (text.size() > cap) return bad(absl::StrCat("larger than the limit of ", cap, " bytes"));
  return text;
}

}  // namespace swarm
