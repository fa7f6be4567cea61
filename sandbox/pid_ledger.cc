#include "sandbox/pid_ledger.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "sandbox/resource_scope.h"

namespace swarm {
namespace fs = std::filesystem;

std::optional<std::uint64_t> PidLedger::StartTime(int pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat;
  if (!std::getline(f, stat)) return std::nullopt;
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: parse after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 2));
  std::string field, state;
  rest >> state;
  if (state == "Z" || state == "X") return std::nullopt;
  // Field 22 is starttime; after comm we are at field 3 (state).
  for (int i = 4; i <= 22; ++i) rest >> field;
  if (!rest) return std::nullopt;
  return std::stoull(field);
}

void PidLedger::Record(int pid, std::string_view owner, const std::vector<std::string>& cgroups) const {
  if (dir_.empty()) return;
  std::optional<std::uint64_t> start = StartTime(pid);
  if (!start) return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  std::ofstream f(absl::StrCat(dir_, "/", pid));
  f << *start << " " << owner << "\n";
  for (const auto& c : cgroups) f << c << "\n";
}

void PidLedger::Forget(int pid) const {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove(absl::StrCat(dir_, "/", pid), ec);
}

int PidLedger::KillAll(std::string_view owner_prefix) const {
  if (dir_.empty()) return 0;
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    int pid = atoi(entry.path().filename().c_str());
    std::uint64_t start = 0;
    std::string owner, cgroup;
    std::ifstream f(entry.path());
    f >> start >> owner;
    if (owner.compare(0, owner_prefix.size(), owner_prefix) != 0) continue;
    bool alive = false;
    if (pid > 0 && StartTime(pid) == start) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      alive = true;
    }
    // The process may be gone and what it started still there (a background job outlives a command
    // that died with its host).
    while (f >> cgroup) alive |= ResourceScope::KillCgroup(cgroup);
    if (alive) ++killed;
    fs::remove(entry.path(), ec);
  }
  return killed;
}

}  // namespace swarm
