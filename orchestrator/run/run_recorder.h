// What a run says about itself: every event goes to the store first (the event log is the source of
// truth), then to the user: a JSON line with --json, otherwise a progress line that a log gets once
// per change, and a terminal the live view (terminal_view.h) redrawn in place once the run's loop
// has begun (a progress line rewritten in place before). Live updates (an agent's activity) are not
// stored: --json prints them, the view shows them. Logs of the run's steps are files in its log
// directory. On the coordinator's executor.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_RECORDER_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_RECORDER_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orchestrator/run/terminal_view.h"
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
    // Called with every live update (run id and time set), as it is shown.
    std::function<void(const v1::Event&)> on_live = nullptr;
    // The terminal view: the busy agents now, and the run's budget (0: none). NO_COLOR turns its
    // colours off.
    std::function<std::vector<AgentRow>()> agents = nullptr;
    double budget_usd = 0;
  };
  // `counts` is asked for the progress line; `store`, `out` and `err` must outlive the recorder.
  RunRecorder(Options options, Store& store, std::ostream& out, std::ostream& err,
              std::function<ProgressCounts()> counts);

  // Stores the event (with the run's id) and shows it. An error when the store failed: the run must
  // stop, since going on would lose work.
  absl::Status Emit(v1::Event event, const EventBodies& bodies = {});

  // Prints a live update that is not stored (live, no seq): a JSON line with --json, a redraw of the view.
  void Live(v1::Event event);

  // Shows the progress line if it changed, or redraws the view (at most ten times a second). Off
  // with --json or once Quiet() was called.
  void Progress();
  // From now on a terminal gets the view (when Options::agents is set); the run's loop begins.
  // Elsewhere, the progress line is shown.
  void BeginView();
  // No progress line or view from now on (a cancel prints its own lines); the view is erased.
  void Quiet();

  // A line for the user on `err`, on a line of its own even while a progress line is open.
  void Say(const std::string& line);
  // Ends an open progress line, or replaces the view with the last progress line (before the summary).
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

  // The view, once BeginView was called on a terminal.
  void Draw(bool force);
  void Erase();
  static std::pair<int, int> WindowSize();  // columns and rows of stdout's terminal (80x24 if unknown)
  void RecountDrawn(int cols);              // the rows the last frame takes now in a window `cols` wide
  std::unique_ptr<TerminalView> view_;
  int drawn_ = 0;                  // rows of the view on the terminal now
  int drawn_cols_ = 0;             // the window's width when it was drawn
  std::vector<int> drawn_widths_;  // each drawn line's columns
  std::int64_t last_draw_ms_ = 0;  // steady clock
};

// The progress line's text, and the part of it that a log gets a new line for.
std::string ProgressLine(const ProgressCounts& c, std::string* counts_part = nullptr);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_RECORDER_H_
