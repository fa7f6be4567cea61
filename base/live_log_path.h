// Where a running attempt's output is written as it comes (agents/live_log.h writes it; `swarm logs
// --follow` reads it): <dir>/<subtask>.<attempt>.log, `dir` being the run's Registered.live_log_dir.
#ifndef SWARM_BASE_LIVE_LOG_PATH_H_
#define SWARM_BASE_LIVE_LOG_PATH_H_

#include <string>

namespace swarm {

inline std::string LiveLogPath(const std::string& dir, const std::string& subtask_id, int attempt) {
  return dir + "/" + subtask_id + "." + std::to_string(attempt) + ".log";
}

}  // namespace swarm

#endif  // SWARM_BASE_LIVE_LOG_PATH_H_
