// What a run says about itself: every event goes to the store first (the event log is the source of
// truth), then to the user: a JSON line with --json, otherwise a progress line that a terminal gets
// rewritten in place and a log gets once per change. Logs of the run's steps are files in its log
// directory. On the coordinator's executor.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_RECORDER_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_RECORDER_H_

#include <functional>
#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orchestrator/store/store.h"

namespace swarm {

// What the progress line counts.
struct ProgressCounts {
  int total = 0;
  int landed = 0;
  int failed = 0;
  int skipped = 0;
  int unchanged = 0;
  int busy_agents = 0;
  int merging = 0;
  int model_limit = 0;      // the rate limiter's concurrency now; 0: the run has no model
  int model_in_flight = 0;  // calls admitted and not answered
};

class Scheduler;
// The subtasks' states as the progress line counts them, with the agents busy and the model's limit.
ProgressCounts CountProgress(int total, const Scheduler* scheduler, int busy_agents, int model_limit,
                             int model_in_flight);

class RunRecorder {
 public:
  struct Options {
    std::string run_id;
    std::string log_dir;
    bool json = false;      // --json: one event per line on `out`, no progress line
    bool terminal = false;  // `out` is a terminal: the progress line is rewritten in place
    // Called with every event as stored (run id and sequence number set), after the store committed it.
    std::function<void(const v1::Event&)> on_event = nullptr;
  };
  // `counts` is asked for the progress line; `store`, `out` and `err` must outlive the recorder.
  RunRecorder(Options options, Store& store, std::ostream& out, std::ostream& err,
              std::function<ProgressCounts()> counts);

  // Stores the event (with the run's id) and shows it. An error when the store failed: the run must
  // stop, since going on would lose work.
  absl::Status Emit(v1::Event event, const EventBodies& bodies = {});

  // Shows the progress line if it changed. Off with --json or once Quiet() was called.
  void Progress();
  // No progress line from now on (a cancel prints its own lines).
  void Quiet() { quiet_ = true; }

  // A line for the user on `err`, on a line of its own even while a progress line is open.
  void Say(const std::string& line);
  // Ends an open progress line (before the summary).
  void EndProgress();

  // Writes `content` to the log directory as `name`; returns the path. A full disk is an error.
  absl::StatusOr<std::string> WriteLog(const std::string& name, const std::string& content);
  // The same, and on failure the user is told (Say) and the path is empty: a log lost is no reason to
  // stop a run, but nobody must be sent to a file that is not there.
  std::string Log(const std::string& name, const std::string& content);

  bool progress_open() const { return progress_open_; }

 private:
  const Options options_;
  Store& store_;
  std::ostream& out_;
  std::ostream& err_;
  const std::function<ProgressCounts()> counts_;
  bool quiet_ = false;
  std::string last_line_;
  std::string last_counts_;
  bool progress_open_ = false;  // a progress line is on the terminal without its newline
};

// The progress line's text, and the part of it that a log gets a new line for.
std::string ProgressLine(const ProgressCounts& c, std::string* counts_part = nullptr);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_RECORDER_H_
