#include "testing/test_util.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace swarm::testing {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& parent) {
  std::string tmpl = parent + "/swt.XXXXXX";
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) abort();
  // Traversable by others: as root, sandboxed commands run as an unprivileged user and read what a
  // test binds from here (docs/SECURITY.md).
  chmod(p, 0755);
  path_ = p;
}

TempDir::~TempDir() {
  if (getenv("SWARM_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  // Workspaces may leave read-only files; make everything writable first.
  std::system(("chmod -R u+rwX " + path_ + " 2>/dev/null").c_str());
  fs::remove_all(path_, ec);
}

int ShStatus(const std::string& command, std::string* output) {
  std::string full = "( " + command + " ) 2>&1";
  FILE* f = popen(full.c_str(), "r");
  if (f == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Sh(const std::string& command) {
  std::string out;
  int status = ShStatus(command, &out);
  if (status != 0) ADD_FAILURE() << "command failed (" << status << "): " << command << "\n" << out;
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

static const char kGitEnv[] =
    "GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t "
    "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' "
    "GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' ";

void InitRepo(const std::string& dir) {
  Sh(std::string(kGitEnv) + "git init -q -b main " + dir);
}

void CommitAll(const std::string& dir, const std::string& message) {
  Sh(std::string("cd ") + dir + " && " + kGitEnv + "git add -A && " + kGitEnv +
     "git commit -q --allow-empty -m '" + message + "'");
}

const ::passwd* UnprivilegedTestUser() {
  const char* name = "swarm-test-user";
  if (const passwd* pw = getpwnam(name); pw != nullptr) return pw;
  ShStatus(std::string("useradd --system --user-group --no-create-home --shell /usr/sbin/nologin ") + name);
  return getpwnam(name);
}

std::string MachineAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string found;
  for (ifaddrs* a = all; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    const in_addr& addr = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr;
    std::uint32_t ip = ntohl(addr.s_addr);
    if ((ip >> 24) == 127 || (ip >> 16) == 0xA9FE || (ip >> 8) == 0x0A0002) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, text, sizeof text);
    found = text;
  }
  freeifaddrs(all);
  return found;
}

std::string BuildDir() {
  const char* d = getenv("SWARM_BUILD_DIR");
  return d != nullptr ? d : ".";
}

std::string SourceDir() {
  const char* d = getenv("SWARM_SOURCE_DIR");
  return d != nullptr ? d : SWARM_SOURCE_DIR_AT_BUILD;  // CTest's environment list keeps only the first
}

}  // namespace swarm::testing
