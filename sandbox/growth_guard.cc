#include "sandbox/growth_guard.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace swarm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(250);
// The walks' time in each tick: a twentieth of a core, or half of one while a file system runs low.
constexpr auto kIdleBudget = kTick / 20;
constexpr auto kLowBudget = kTick / 2;
// A sandbox's processes are looked at up to this many (a fork bomb is the process limit's to stop).
constexpr std::size_t kMostProcesses = 4096;
// And their open files up to this many, all processes together.
constexpr std::size_t kMostDescriptors = 1 << 17;

struct Watched {
  GrowthCap cap;
  pid_t pid = 0;
  std::function<void()> stop;
  dev_t dev = 0;            // the tree's file system
  std::set<dev_t> seen_on;  // where the command's open files may be: the tree's, the view's
};

// Whether the file system holding `path` has less free than its reserve.
bool RunsLow(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return false;
  const std::uint64_t total = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
  const std::uint64_t free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  const std::uint64_t reserve = std::min<std::uint64_t>(total / 10, 1ull << 30);
  // Some file systems (btrfs) report no inode counts: they have no fixed number to run out of.
  const std::uint64_t inode_reserve = std::min<std::uint64_t>(st.f_files / 10, 100'000);
  return free < reserve || (st.f_files > 0 && st.f_favail < inode_reserve);
}

// `pid` and its descendants, from /proc/PID/task/TID/children (the host's pids).
std::vector<pid_t> ProcessTree(pid_t pid) {
  std::vector<pid_t> found = {pid};
  for (std::size_t i = 0; i < found.size() && found.size() < kMostProcesses; ++i) {
    const std::string tasks = absl::StrCat("/proc/", found[i], "/task");
    DIR* dir = opendir(tasks.c_str());
    if (dir == nullptr) continue;
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream children(absl::StrCat(tasks, "/", e->d_name, "/children"));
      pid_t child;
      while (children >> child) found.push_back(child);
    }
    closedir(dir);
  }
  return found;
}

class Guard {
 public:
  static Guard& Get() {
    static Guard* guard = new Guard();  // never destroyed: its thread may outlive static destruction
    return *guard;
  }

  std::uint64_t Add(GrowthCap cap, WatchedCommand command, std::function<void()> stop) {
    struct stat st {};
    const dev_t dev = stat(cap.tree.c_str(), &st) == 0 ? st.st_dev : 0;
    std::set<dev_t> seen_on = {dev};
    if (!command.seen_at.empty() && stat(command.seen_at.c_str(), &st) == 0) seen_on.insert(st.st_dev);
    absl::MutexLock lock(&mu_);
    const std::uint64_t id = ++next_id_;
    watched_[id] = Watched{std::move(cap), command.pid, std::move(stop), dev, std::move(seen_on)};
    if (!started_) {
      started_ = true;
      std::thread([this] { Loop(); }).detach();
    }
    return id;
  }

  void Remove(std::uint64_t id) {
    absl::MutexLock lock(&mu_);
    watched_.erase(id);
  }

 private:
  Guard() = default;

  void Loop() {
    std::uint64_t cursor = 0;  // the last tree measured: the next round goes on from there
    for (;;) {
      std::this_thread::sleep_for(kTick);
      std::map<dev_t, std::string> devices;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [id, w] : watched_) devices.emplace(w.dev, w.cap.tree);
      }
      std::set<dev_t> low;
      for (const auto& [dev, path] : devices) {
        if (RunsLow(path)) low.insert(dev);
      }
      // Round the watched trees from the cursor, those on a file system that runs low first.
      std::vector<std::uint64_t> order;
      {
        absl::MutexLock lock(&mu_);
        std::vector<std::uint64_t> rest;
        auto from = watched_.upper_bound(cursor);
        for (std::size_t n = 0; n < watched_.size(); ++n, ++from) {
          if (from == watched_.end()) from = watched_.begin();
          (low.count(from->second.dev) ? order : rest).push_back(from->first);
        }
        order.insert(order.end(), rest.begin(), rest.end());
      }
      const Clock::time_point until = Clock::now() + (low.empty() ? kIdleBudget : kLowBudget);
      for (std::uint64_t id : order) {
        Check(id);
        cursor = id;
        if (Clock::now() >= until) break;
      }
    }
  }

  void Check(std::uint64_t id) {
    Watched w;
    {
      absl::MutexLock lock(&mu_);
      auto it = watched_.find(id);
      if (it == watched_.end()) return;
      w.cap = it->second.cap;
      w.pid = it->second.pid;
      w.seen_on = it->second.seen_on;
    }
    // Stops counting once past the limit: a tree of millions of files costs the limit's worth.
    absl::StatusOr<TreeUsage> usage = MeasureTree(w.cap.tree, w.cap.most);
    // Gone with its command, or not measurable this time (a directory removed under the walk, again
    // and again): the next round tries again. A directory it may not read hides what it holds: past.
    if (!usage.ok() && !absl::IsPermissionDenied(usage.status())) return;
    bool past = !usage.ok() || usage->Exceeds(w.cap.most);
    if (!past && w.pid > 0) {
      const TreeUsage held = HeldDeletedFiles(w.pid, w.seen_on);
      past = held.bytes == ~0ull ||
             TreeUsage{usage->bytes + held.bytes, usage->entries + held.entries}.Exceeds(w.cap.most);
    }
    if (!past) return;
    std::function<void()> stop;
    {
      absl::MutexLock lock(&mu_);
      auto it = watched_.find(id);
      if (it == watched_.end()) return;  // its command ended meanwhile
      stop = std::move(it->second.stop);
      watched_.erase(it);
    }
    if (stop) stop();
  }

  absl::Mutex mu_;
  std::map<std::uint64_t, Watched> watched_ ABSL_GUARDED_BY(mu_);
  std::uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

TreeUsage HeldDeletedFiles(pid_t pid, const std::set<dev_t>& devs) {
  TreeUsage held;
  std::set<std::pair<dev_t, ino_t>> counted;
  std::size_t looked = 0;
  auto count = [&](const std::string& path) {
    // Through /proc's link, stat reaches the file itself, deleted or not, however long its old path.
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || st.st_nlink != 0 || !S_ISREG(st.st_mode) || !devs.count(st.st_dev) ||
        !counted.insert({st.st_dev, st.st_ino}).second) {
      return;
    }
    held.bytes += FileBytes(st);
    ++held.entries;
  };
  for (pid_t p : ProcessTree(pid)) {
    count(absl::StrCat("/proc/", p, "/exe"));  // a program run from a file since deleted
    const std::string fds = absl::StrCat("/proc/", p, "/fd");
    DIR* dir = opendir(fds.c_str());
    if (dir == nullptr) continue;
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      if (++looked > kMostDescriptors) {
        // More open files than any honest command holds: taken as past every limit, not walked.
        closedir(dir);
        return TreeUsage{~0ull, ~0ull};
      }
      count(absl::StrCat(fds, "/", e->d_name));
    }
    closedir(dir);
  }
  return held;
}

std::shared_ptr<void> GuardGrowth(GrowthCap cap, WatchedCommand command, std::function<void()> stop) {
  const std::uint64_t id = Guard::Get().Add(std::move(cap), std::move(command), std::move(stop));
  return std::shared_ptr<void>(nullptr, [id](void*) { Guard::Get().Remove(id); });
}

}  // namespace swarm
