#include "sandbox/resource_scope.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <cctype>
#include <fstream>
#include <sstream>
#include <random>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;

bool WriteFile(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  f << value;
  f.flush();
  return f.good();
}

bool MakeDir(const std::string& path) { return mkdir(path.c_str(), 0755) == 0 || errno == EEXIST; }
// A scope's own cgroup must be new: one left by a killed process (pids are reused) may still hold
// that process's leftovers, and killing the scope would kill them, or they would be counted as ours.
bool MakeFreshDir(const std::string& path) { return mkdir(path.c_str(), 0755) == 0; }

// The inode of this process's pid namespace: pids are only meaningful within it.
std::uint64_t PidNamespace() {
  struct stat st{};
  return stat("/proc/self/ns/pid", &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

std::string UniqueName() {
  static std::atomic<unsigned> counter{0};
  static const std::uint64_t salt = std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32);
  return absl::StrCat(getpid(), "-", PidNamespace(), "-", absl::Hex(salt), "-", counter++);
}

// cgroup v1 with separate memory and pids hierarchies (what containers commonly expose).
bool CreateV1(const ResourceLimits& limits, const std::string& name, std::vector<std::string>& dirs) {
  const std::string roots[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"};
  for (const auto& root : roots) {
    if (!fs::exists(root + "/cgroup.procs")) return false;
    std::string parent = root + "/swarm";
    std::string dir = parent + "/" + name;
    if (!MakeDir(parent) || !MakeFreshDir(dir)) return false;
    dirs.push_back(dir);
  }
  bool ok = true;
  if (limits.memory_bytes > 0) {
    ok &= WriteFile(dirs[0] + "/memory.limit_in_bytes", std::to_string(limits.memory_bytes));
  }
  ok &= WriteFile(dirs[1] + "/pids.max",
                  limits.max_processes > 0 ? std::to_string(limits.max_processes) : "max");
  return ok;
}

// cgroup v2 mounted at /sys/fs/cgroup with the memory and pids controllers available.
bool CreateV2(const ResourceLimits& limits, const std::string& name, std::vector<std::string>& dirs) {
  const std::string root = "/sys/fs/cgroup";
  std::ifstream controllers(root + "/cgroup.controllers");
  std::string line;
  std::getline(controllers, line);
  if (line.find("memory") == std::string::npos || line.find("pids") == std::string::npos) return false;
  std::string parent = root + "/swarm";
  if (!MakeDir(parent)) return false;
  if (!WriteFile(root + "/cgroup.subtree_control", "+memory +pids")) return false;
  if (!WriteFile(parent + "/cgroup.subtree_control", "+memory +pids")) return false;
  std::string dir = parent + "/" + name;
  if (!MakeFreshDir(dir)) return false;
  dirs.push_back(dir);
  bool ok = true;
  if (limits.memory_bytes > 0) ok &= WriteFile(dir + "/memory.max", std::to_string(limits.memory_bytes));
  ok &= WriteFile(dir + "/pids.max",
                  limits.max_processes > 0 ? std::to_string(limits.max_processes) : "max");
  return ok;
}

// Processes the calling user already has: RLIMIT_NPROC counts them all, not only the sandbox's.
rlim_t ProcessesOfThisUser() {
  rlim_t n = 0;
  uid_t uid = getuid();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !isdigit(static_cast<unsigned char>(name[0]))) continue;
    struct stat st{};
    if (stat(entry.path().c_str(), &st) == 0 && st.st_uid == uid) ++n;
  }
  return n;
}

std::vector<pid_t> Members(const std::string& dir) {
  std::vector<pid_t> pids;
  std::ifstream f(dir + "/cgroup.procs");
  pid_t pid;
  while (f >> pid) pids.push_back(pid);
  return pids;
}

}  // namespace

std::unique_ptr<ResourceScope> ResourceScope::Create(const ResourceLimits& limits) {
  std::unique_ptr<ResourceScope> scope(new ResourceScope());
  scope->limits_ = limits;
  std::string name = UniqueName();
  std::vector<std::string> dirs;
  if (geteuid() == 0 && (CreateV1(limits, name, dirs) || (dirs.clear(), CreateV2(limits, name, dirs)))) {
    scope->mode_ = "cgroup";
    scope->cgroup_dirs_ = std::move(dirs);
  } else {
    for (const auto& d : dirs) rmdir(d.c_str());
    scope->mode_ = "rlimit";
  }
  return scope;
}

int ResourceScope::RemoveAbandoned(const std::vector<std::string>& parents) {
  const std::vector<std::string> real = {"/sys/fs/cgroup/memory/swarm", "/sys/fs/cgroup/pids/swarm",
                                         "/sys/fs/cgroup/swarm"};
  const std::string here = absl::StrCat(PidNamespace());
  if (here == "0") return 0;  // no /proc: whose pids these are cannot be told
  int removed = 0;
  for (const std::string& parent : parents.empty() ? real : parents) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
      std::vector<std::string> part = absl::StrSplit(entry.path().filename().string(), '-');
      if (part.size() != 4 || part[1] != here || !entry.is_directory(ec)) continue;
      const pid_t creator = static_cast<pid_t>(atoi(part[0].c_str()));
      if (creator <= 0) continue;
      if (kill(creator, 0) == 0 || errno == EPERM) continue;  // alive (or its pid reused): not ours to judge
      // What is still inside runs unsupervised: a sandbox whose starter died between starting it and
      // writing it down, or bubblewrap's pid 1 left waiting for a parent that was killed.
      if (fs::exists(entry.path() / "cgroup.procs", ec)) {
        ResourceScope scope;  // its destructor kills what is inside and removes the cgroup
        scope.cgroup_dirs_ = {entry.path().string()};
      } else {
        rmdir(entry.path().c_str());  // not a cgroup (a test's directory): removed when empty
      }
      removed += !fs::exists(entry.path(), ec);
    }
  }
  return removed;
}

std::string ResourceScope::NewName() { return UniqueName(); }

std::string ResourceScope::ProbeMode() { return Create(ResourceLimits{})->Mode(); }

ResourceScope::~ResourceScope() {
  KillAll();
  for (const auto& dir : cgroup_dirs_) {
    // Killed processes leave the cgroup once the kernel has reaped them.
    for (int i = 0; i < 200 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
      KillAll();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

void ResourceScope::Apply(ProcessSpec& spec) const {
  for (const auto& dir : cgroup_dirs_) spec.join_cgroup_procs.push_back(dir + "/cgroup.procs");
  if (limits_.max_file_bytes > 0) spec.rlimits.push_back({RLIMIT_FSIZE, limits_.max_file_bytes});
  spec.rlimits.push_back({RLIMIT_CORE, 0});
  if (mode_ == "rlimit") {
    if (limits_.memory_bytes > 0) spec.rlimits.push_back({RLIMIT_AS, limits_.memory_bytes});
    // Root ignores RLIMIT_NPROC; for others it counts every process of the user, so leave room for them.
    if (limits_.max_processes > 0 && geteuid() != 0) {
      spec.rlimits.push_back({RLIMIT_NPROC, ProcessesOfThisUser() + limits_.max_processes});
    }
  }
}

bool ResourceScope::IsScopeCgroup(const std::string& dir) {
  // /sys/fs/cgroup[/memory|/pids]/swarm/<pid>-<pidns>-<hex>-<n> (or <pid>-<hex>-<n>, as earlier
  // versions named them), nothing else (no "..", no parents).
  static const std::regex kScope(R"(/sys/fs/cgroup(/memory|/pids)?/swarm/[0-9]+(-[0-9]+)?-[0-9a-f]+-[0-9]+)");
  return std::regex_match(dir, kScope);
}

bool ResourceScope::KillCgroup(const std::string& dir) {
  if (!IsScopeCgroup(dir)) return false;
  const bool held = !Members(dir).empty();
  ResourceScope scope;
  scope.cgroup_dirs_ = {dir};
  return held;  // the destructor kills what is left and removes the directory
}

void ResourceScope::KillAll() const {
  for (const auto& dir : cgroup_dirs_) {
    if (WriteFile(dir + "/cgroup.kill", "1")) continue;  // v2: the kernel empties the tree
    // v1: a forking tree can add members while we kill; the pids limit bounds how long this takes.
    for (int round = 0; round < 100; ++round) {
      auto pids = Members(dir);
      if (pids.empty()) break;
      for (pid_t pid : pids) kill(pid, SIGKILL);
    }
  }
}

}  // namespace swarm
