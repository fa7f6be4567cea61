#include "agents/live_log.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/live_log_path.h"

namespace swarm {

std::unique_ptr<LiveLog> LiveLog::Open(const std::string& dir, const std::string& subtask_id, int attempt) {
  if (dir.empty()) return nullptr;
  const std::string path = LiveLogPath(dir, subtask_id, attempt);
  unlink(path.c_str());  // an earlier coordinator's, for the same attempt number
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600);
  if (fd < 0) return nullptr;
  return std::unique_ptr<LiveLog>(new LiveLog(fd, path));
}

LiveLog::~LiveLog() {
  close(fd_);
  unlink(path_.c_str());
}

void LiveLog::Write(std::string_view piece) {
  std::lock_guard<std::mutex> lock(mu_);
  if (written_ >= kMaxLiveLogBytes) return;
  std::string_view take = piece.substr(0, kMaxLiveLogBytes - written_);
  written_ += take.size();
  while (!take.empty()) {
    ssize_t n = write(fd_, take.data(), take.size());
    if (n <= 0) return;  // a full disk: the live view stops, the attempt does not
    take.remove_prefix(static_cast<std::size_t>(n));
  }
  if (written_ >= kMaxLiveLogBytes) {
    static constexpr char kCut[] = "\n[swarm: the live log stops here; the attempt's log has the end]\n";
    [[maybe_unused]] ssize_t n = write(fd_, kCut, sizeof(kCut) - 1);
  }
}

}  // namespace swarm
