#include "orchestrator/control/control_token.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/random_hex.h"

namespace swarm {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxTokenFileBytes = 4096;

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::Status CheckTokenLength(const std::string& token, const std::string& source) {
  if (token.size() >= kMinTokenChars) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(source, " is shorter than ", kMinTokenChars,
                   " characters; make one with `head -c 32 /dev/urandom | xxd -p -c 64`"));
}

absl::StatusOr<std::string> NewControlToken() { return RandomHex(kTokenBytes); }

absl::Status WriteTokenFile(const std::string& path, const std::string& token) {
  std::string tmpl = path + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  // mkstemp: O_CREAT | O_EXCL, mode 0600 whatever the umask.
  int fd = mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot create ", tmpl, ": ", strerror(errno)));
  std::string tmp = buf.data();
  bool ok = fchmod(fd, 0600) == 0 && WriteAll(fd, token + "\n") && fsync(fd) == 0;
  int saved = errno;
  ok = close(fd) == 0 && ok;
  if (ok && rename(tmp.c_str(), path.c_str()) == 0) return absl::OkStatus();
  if (ok) saved = errno;
  unlink(tmp.c_str());
  return absl::PermissionDeniedError(absl::StrCat("cannot write the token file ", path, ": ", strerror(saved)));
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, bool private_only) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    std::string why = errno == ELOOP ? "it is a symbolic link" : strerror(errno);
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("token file ", path, ": ", why));
    return absl::InvalidArgumentError(absl::StrCat("cannot read the token file ", path, ": ", why));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("the token file ", path, " is not a regular file"));
  }
  if (private_only && (st.st_mode & 077) != 0) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrFormat(
        "the token file %s may be read by others (mode %03o): chmod 600 it", path, st.st_mode & 0777));
  }
  std::string content(kMaxTokenFileBytes + 1, '\0');
  size_t got = 0;
  while (got < content.size()) {
    ssize_t n = read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the token file ", path, " is larger than ", kMaxTokenFileBytes,
                                                   " bytes"));
  }
  content.resize(got);
  std::string token(absl::StripAsciiWhitespace(content));
  explicit_bzero(content.data(), content.size());
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("the token file ", path, " is empty"));
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat("the token file ", path, " holds characters other than printable ASCII"));
    }
  }
  return token;
}

absl::StatusOr<std::string> ClientToken(const std::string& address, const std::string& token_file) {
  if (!token_file.empty()) return ReadTokenFile(token_file, /*private_only=*/false);
  if (const char* env = getenv(kTokenEnv); env != nullptr && *env != '\0') return std::string(env);
  if (address.rfind("unix:", 0) == 0) {
    std::string beside = (std::filesystem::path(address.substr(5)).parent_path() / kTokenFileName).string();
    absl::StatusOr<std::string> token = ReadTokenFile(beside, /*private_only=*/false);
    if (token.ok() || !absl::IsNotFound(token.status())) return token;
  }
  return std::string();
}

}  // namespace swarm
