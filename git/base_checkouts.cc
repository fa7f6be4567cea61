#include "git/base_checkouts.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "git/git.h"

namespace swarm {
namespace fs = std::filesystem;

BaseCheckouts::BaseCheckouts(std::string source_git_dir, std::string root, HandOver hand_over, int keep_idle)
    : source_git_dir_(std::move(source_git_dir)),
      root_(std::move(root)),
      hand_over_(std::move(hand_over)),
      keep_idle_(std::max(0, keep_idle)) {}

BaseCheckouts::~BaseCheckouts() {
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  for (const auto& [commit, e] : entries_) {
    if (e.checkout) fs::remove_all(e.checkout->dir, ec);
  }
}

int BaseCheckouts::made() const {
  std::lock_guard<std::mutex> lock(mu_);
  return made_;
}

absl::StatusOr<std::shared_ptr<const BaseCheckouts::Checkout>> BaseCheckouts::Acquire(const std::string& commit) {
  std::string dir;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = entries_.find(commit);
      if (it == entries_.end()) {
        entries_[commit].making = true;  // this caller makes it; the others wait
        dir = absl::StrCat(root_, "/base-", next_++);
        break;
      }
      if (it->second.making) {
        made_cv_.wait(lock);
        continue;  // made, or failed and erased: look again
      }
      if (it->second.users++ == 0) idle_.remove(commit);
      break;
    }
  }
  if (!dir.empty()) {
    // Made outside the lock: attempts on other commits go on meanwhile.
    absl::Status st;
    std::error_code ec;
    fs::create_directories(root_, ec);
    Git source = Git::AtGitDir(source_git_dir_);
    if (auto r = source.Run({"clone", "--quiet", "--shared", "--no-checkout", source_git_dir_, dir}); !r.ok()) {
      st = r.status();
    }
    if (st.ok()) {
      Git work = Git::AtGitDir(dir + "/.git", dir);
      if (auto r = work.Run({"checkout", "--quiet", "--detach", commit}); !r.ok()) st = r.status();
    }
    if (st.ok() && hand_over_) st = hand_over_(dir);
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[commit];
    e.making = false;
    made_cv_.notify_all();
    if (!st.ok()) {
      entries_.erase(commit);
      fs::remove_all(dir, ec);
      return st;
    }
    e.checkout = std::make_shared<Checkout>(Checkout{commit, dir});
    e.users = 1;
    ++made_;
  }
  std::shared_ptr<const Checkout> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    held = entries_.at(commit).checkout;
  }
  // The caller's copy releases the commit when its last copy goes.
  return std::shared_ptr<const Checkout>(held.get(), [this, commit, held](const Checkout*) { Release(commit); });
}

void BaseCheckouts::Release(const std::string& commit) {
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(commit);
    if (it == entries_.end()) return;
    if (--it->second.users > 0) return;
    idle_.push_back(commit);
    EvictLocked(doomed);
  }
  std::error_code ec;
  for (const auto& dir : doomed) fs::remove_all(dir, ec);  // outside the lock: a tree is slow to remove
}

void BaseCheckouts::EvictLocked(std::vector<std::string>& doomed) {
  while (static_cast<int>(idle_.size()) > keep_idle_) {
    auto it = entries_.find(idle_.front());
    idle_.pop_front();
    if (it == entries_.end() || it->second.users > 0 || !it->second.checkout) continue;
    doomed.push_back(it->second.checkout->dir);
    entries_.erase(it);
  }
}

}  // namespace swarm
