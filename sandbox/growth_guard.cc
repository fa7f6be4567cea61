#include "sandbox/growth_guard.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace swarm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(250);
// The walks' share of one core when no file system runs low: one part walking, this many waiting.
constexpr int kIdleParts = 19;

struct Watched {
  GrowthCap cap;
  std::function<void()> stop;
  dev_t dev = 0;
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

class Guard {
 public:
  static Guard& Get() {
    static Guard* guard = new Guard();  // never destroyed: its thread may outlive static destruction
    return *guard;
  }

  std::uint64_t Add(GrowthCap cap, std::function<void()> stop) {
    struct stat st {};
    dev_t dev = stat(cap.tree.c_str(), &st) == 0 ? st.st_dev : 0;
    absl::MutexLock lock(&mu_);
    const std::uint64_t id = ++next_id_;
    watched_[id] = Watched{std::move(cap), std::move(stop), dev};
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
    Clock::time_point idle_walk_after = Clock::now();
    std::uint64_t last_walked = 0;
    for (;;) {
      std::this_thread::sleep_for(kTick);
      // The file systems that run low: every tree on them is measured now.
      std::map<dev_t, std::string> devices;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [id, w] : watched_) devices.emplace(w.dev, w.cap.tree);
      }
      std::set<dev_t> low;
      for (const auto& [dev, path] : devices) {
        if (RunsLow(path)) low.insert(dev);
      }
      std::vector<std::uint64_t> due;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [id, w] : watched_) {
          if (low.count(w.dev)) due.push_back(id);
        }
        // Otherwise one tree at a time, round the watched ones, within the walks' share of a core.
        if (due.empty() && !watched_.empty() && Clock::now() >= idle_walk_after) {
          auto next = watched_.upper_bound(last_walked);
          if (next == watched_.end()) next = watched_.begin();
          due.push_back(next->first);
          last_walked = next->first;
        }
      }
      const Clock::time_point started = Clock::now();
      for (std::uint64_t id : due) Check(id);
      idle_walk_after = Clock::now() + (Clock::now() - started) * kIdleParts;
    }
  }

  void Check(std::uint64_t id) {
    GrowthCap cap;
    {
      absl::MutexLock lock(&mu_);
      auto it = watched_.find(id);
      if (it == watched_.end()) return;
      cap = it->second.cap;
    }
    // Stops counting once past the limit: a tree of millions of files costs the limit's worth.
    absl::StatusOr<TreeUsage> usage = MeasureTree(cap.tree, cap.most);
    if (!usage.ok() || !usage->Exceeds(cap.most)) return;
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

std::shared_ptr<void> GuardGrowth(GrowthCap cap, std::function<void()> stop) {
  const std::uint64_t id = Guard::Get().Add(std::move(cap), std::move(stop));
  return std::shared_ptr<void>(nullptr, [id](void*) { Guard::Get().Remove(id); });
}

}  // namespace swarm
