// Helpers shared by tests: a temporary directory removed at the end of the test, shell commands,
// small git repositories with a deterministic history.
#ifndef SWARM_TESTING_TEST_UTIL_H_
#define SWARM_TESTING_TEST_UTIL_H_

#include <pwd.h>

#include <string>

namespace swarm::testing {

class TempDir final {
 public:
  // Under `parent` (/tmp unless told), unique, short (Unix socket paths must fit in 107 bytes), mode 0755.
  explicit TempDir(const std::string& parent = "/tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `command` with sh -c; returns its stdout; fails the test (ADD_FAILURE) on a non-zero exit.
std::string Sh(const std::string& command);
// Runs `command` with sh -c; returns the exit status, and stdout+stderr in *output if given.
int ShStatus(const std::string& command, std::string* output = nullptr);

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);
// `s` without trailing newlines and spaces (what a command printed, as one value).
std::string Trim(std::string s);

// Creates a git repository at `dir` with one commit per call to Commit, with a fixed identity.
void InitRepo(const std::string& dir);
void CommitAll(const std::string& dir, const std::string& message);

// The unprivileged user `swarm-test-user`, created when missing (needs root; tests running at once may
// race to create it, which is fine); nullptr when it cannot be had. Points into getpwnam's storage.
const ::passwd* UnprivilegedTestUser();

// This machine's first IPv4 address beyond loopback, for "outbound" connections that stay on it (one
// slirp4netns's network or the blocked 169.254.0.0/16 would shadow is passed over); empty if none.
std::string MachineAddress();

// Where the built binaries are (from SWARM_BUILD_DIR, set by CTest).
std::string BuildDir();
std::string SourceDir();

}  // namespace swarm::testing

#endif  // SWARM_TESTING_TEST_UTIL_H_
