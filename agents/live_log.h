// A running attempt's output as it comes, for `swarm logs RUN SUBTASK --follow`: a file
// <dir>/<subtask>.<attempt>.log (base/live_log_path.h) that the host writes while the attempt runs and removes when it
// ends (its whole log then goes to the coordinator with the result, as before). Capped: past the cap it says so and
// takes no more.
#ifndef SWARM_AGENTS_LIVE_LOG_H_
#define SWARM_AGENTS_LIVE_LOG_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace swarm {

inline constexpr std::size_t kMaxLiveLogBytes = 2 << 20;

class LiveLog final {
 public:
  // Null when `dir` is empty (the coordinator asked for none) or the file cannot be made; an attempt
  // runs the same without one. The file is made anew (never through a link), readable by its owner only.
  static std::unique_ptr<LiveLog> Open(const std::string& dir, const std::string& subtask_id, int attempt);
  ~LiveLog();  // closes and removes the file
  LiveLog(const LiveLog&) = delete;
  LiveLog& operator=(const LiveLog&) = delete;

  // Thread-safe.
  void Write(std::string_view piece);

 private:
  LiveLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  const int fd_;
  const std::string path_;
  std::mutex mu_;
  std::size_t written_ = 0;
};

}  // namespace swarm

#endif  // SWARM_AGENTS_LIVE_LOG_H_
