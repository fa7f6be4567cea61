// What `swarm run` draws on a terminal, redrawn in place (RunRecorder draws it): the elapsed time,
// cost against the budget and tokens; the subtasks' counts; one line per busy agent with its subtask,
// attempt, how long it has held its lease and what it is doing now (the oldest first: a stuck agent
// is on top); the merge queue; the last few events. Sized to the window; without colour under
// NO_COLOR. Plain data: it renders lines, RunRecorder writes them.
#ifndef SWARM_ORCHESTRATOR_RUN_TERMINAL_VIEW_H_
#define SWARM_ORCHESTRATOR_RUN_TERMINAL_VIEW_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "swarm/v1/events.pb.h"

namespace swarm {

struct ProgressCounts;  // run_recorder.h

// A busy agent, as the coordinator's lease table has it.
struct AgentRow {
  std::string subtask_id = "";
  int attempt = 0;
  std::int64_t granted_unix_ms = 0;
  std::uint32_t step = 0;
  std::string action = "";  // empty: its host has not said yet
  std::int64_t action_unix_ms = 0;
};

class TerminalView final {
 public:
  struct Options {
    std::string run_id;
    double budget_usd = 0;  // 0: none
    bool color = true;      // false under NO_COLOR
    std::int64_t start_unix_ms = 0;  // the run's creation: elapsed counts from it
  };
  explicit TerminalView(Options options) : options_(std::move(options)) {}

  // What the run spent before the view began (earlier sessions of a resumed run, its planning).
  void Seed(double cost_usd, std::uint64_t input_tokens, std::uint64_t cached_tokens, std::uint64_t output_tokens);
  // Takes in a stored event: cost, tokens, rejections, the last events.
  void Observe(const v1::Event& event);

  // The view now, at most `rows` lines of at most `cols` columns each.
  std::vector<std::string> Render(const ProgressCounts& counts, std::vector<AgentRow> agents, std::int64_t now_unix_ms,
                                  int cols, int rows) const;

 private:
  std::string Paint(const char* sgr, const std::string& text) const;

  const Options options_;
  double cost_usd_ = 0;
  std::uint64_t input_tokens_ = 0, cached_tokens_ = 0, output_tokens_ = 0;
  int rejected_ = 0;  // in this session
  std::string last_rejection_;
  std::deque<std::string> events_;  // the last few, formatted
};

// "1h02m", "3m05s", "42s".
std::string ShortDuration(std::int64_t ms);
// The columns `text` takes (a UTF-8 character is one; SGR escape sequences take none).
int DisplayColumns(const std::string& text);
// `text` cut to `cols` display columns (a UTF-8 character is one), "…" marking a cut.
std::string FitColumns(const std::string& text, int cols);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_TERMINAL_VIEW_H_
