#include "orchestrator/run/run_recorder.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "orchestrator/run/scheduler.h"
#include "orchestrator/store/store.h"

namespace swarm {

RunRecorder::RunRecorder(Options options, Store& store, std::ostream& out, std::ostream& err,
                         std::function<ProgressCounts()> counts)
    : options_(std::move(options)), store_(store), out_(out), err_(err), counts_(std::move(counts)) {}

absl::Status RunRecorder::Emit(v1::Event event, const EventBodies& bodies) {
  event.set_run_id(options_.run_id);
  if (absl::Status st = store_.Apply(event, bodies); !st.ok()) return st;
  if (options_.on_event) options_.on_event(event);
  if (view_ != nullptr) {
    view_->Observe(event);
  }
  if (options_.json) {
    out_ << EventToJson(event) << "\n";
    out_.flush();
  } else {
    Progress();
  }
  return absl::OkStatus();
}

std::string ProgressLine(const ProgressCounts& c, std::string* counts_part) {
  std::string counts = absl::StrCat(c.landed + c.failed + c.skipped + c.unchanged, "/", c.total, " done: ", c.landed,
                                    " landed, ", c.failed, " failed, ", c.skipped, " skipped");
  if (c.unchanged > 0) absl::StrAppend(&counts, ", ", c.unchanged, " unchanged");
  std::string line = absl::StrCat("swarm: ", counts, " | ", c.busy_agents, " agents busy, ", c.merging, " merging");
  if (c.model_limit > 0) absl::StrAppend(&line, ", model ", c.model_in_flight, "/", c.model_limit, " in flight");
  if (counts_part != nullptr) *counts_part = std::move(counts);
  return line;
}

namespace {

std::int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void RunRecorder::Live(v1::Event event) {
  event.set_run_id(options_.run_id);
  event.set_schema(kEventSchemaVersion);
  event.set_live(true);  // and no seq: it is not in the log
  event.set_time_unix_ms(UnixMillisNow());
  if (options_.on_live) options_.on_live(event);
  if (options_.json) {
    out_ << EventToJson(event) << "\n";
    out_.flush();
  } else if (view_ != nullptr && !quiet_) {
    Draw(false);
  }
}

void RunRecorder::BeginView() {
  const char* term = getenv("TERM");
  const bool dumb = term == nullptr || std::string_view(term) == "dumb";  // no cursor movement
  if (!options_.terminal || dumb || options_.json || quiet_ || !options_.agents || view_ != nullptr) return Progress();
  EndProgress();
  const char* no_color = getenv("NO_COLOR");
  // Elapsed time and spending count from the run's start, earlier sessions of a resumed run included.
  absl::StatusOr<RunRow> row = store_.Run(options_.run_id);
  view_ = std::make_unique<TerminalView>(TerminalView::Options{
      .run_id = options_.run_id,
      .budget_usd = options_.budget_usd,
      .color = no_color == nullptr || *no_color == '\0',
      .start_unix_ms = row.ok() && row->created_unix_ms > 0 ? row->created_unix_ms : UnixMillisNow()});
  if (absl::StatusOr<std::map<std::string, ModelSpend>> spend = store_.SpendBySubtask(options_.run_id); spend.ok()) {
    const ModelSpend total = TotalSpend(*spend);
    view_->Seed(total.cost_usd, total.input_tokens, total.cached_input_tokens, total.output_tokens);
  }
  Draw(true);
}

void RunRecorder::Draw(bool force) {
  const std::int64_t now = SteadyMillis();
  if (!force && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  const auto [cols, rows] = WindowSize();
  RecountDrawn(cols);
  // One row is left free: a block as tall as the window would scroll its first line away.
  std::vector<std::string> lines = view_->Render(counts_(), options_.agents(), UnixMillisNow(), cols, rows - 1);
  std::string frame;
  if (drawn_ > 0) frame = absl::StrCat("\033[", drawn_, "A\r");
  // Autowrap off while drawing: a line wider than the window (a wide character counted as one
  // column) is clipped, never wrapped, so each line is one row and the next erase finds them all.
  frame += "\033[J\033[?7l";
  drawn_widths_.clear();
  for (const std::string& line : lines) {
    absl::StrAppend(&frame, line, "\n");
    drawn_widths_.push_back(std::min(cols, DisplayColumns(line)));
  }
  frame += "\033[?7h";
  out_ << frame;
  out_.flush();
  drawn_ = static_cast<int>(lines.size());
  drawn_cols_ = cols;
}

std::pair<int, int> RunRecorder::WindowSize() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) return {ws.ws_col, ws.ws_row};
  return {80, 24};
}

void RunRecorder::RecountDrawn(int cols) {
  // A window made narrower may have wrapped the last frame's lines (tmux and most terminals reflow):
  // each then takes more rows to erase. (A terminal that does not reflow loses a line above the view.)
  if (drawn_ == 0 || cols >= drawn_cols_) return;
  int rows_now = 0;
  for (int width : drawn_widths_) rows_now += std::max(1, (width + cols - 1) / cols);
  drawn_ = rows_now;
  drawn_cols_ = cols;
}

void RunRecorder::Erase() {
  RecountDrawn(WindowSize().first);
  if (drawn_ > 0) out_ << "\033[" << drawn_ << "A\r\033[J";
  out_.flush();
  drawn_ = 0;
}

void RunRecorder::Quiet() {
  if (view_ != nullptr) Erase();
  view_.reset();
  quiet_ = true;
}

void RunRecorder::Progress() {
  if (options_.json || quiet_) return;
  if (view_ != nullptr) return Draw(false);
  std::string counts;
  std::string line = ProgressLine(counts_(), &counts);
  if (line == last_line_) return;
  // A terminal gets one line rewritten in place; a log gets a line each time the counts change.
  if (options_.terminal) {
    out_ << "\r\033[K" << line;
    progress_open_ = true;
  } else if (counts != last_counts_) {
    out_ << line << "\n";
    last_counts_ = counts;
  }
  last_line_ = line;
  out_.flush();
}

void RunRecorder::Say(const std::string& line) {
  if (view_ != nullptr) {
    // Above the view: it is erased, the line written, the view drawn again below it.
    Erase();
    err_ << line << "\n";
    err_.flush();
    Draw(false);  // at most ten frames a second, however many lines are said: the next tick draws it
    return;
  }
  err_ << (progress_open_ ? "\n" : "") << line << "\n";
  progress_open_ = false;
  last_line_.clear();  // the next progress line starts afresh below what was said
}

void RunRecorder::EndProgress() {
  if (view_ != nullptr) {
    Erase();
    view_.reset();
    out_ << ProgressLine(counts_()) << "\n";
    out_.flush();
    return;
  }
  if (progress_open_) out_ << "\n";
  progress_open_ = false;
}

absl::StatusOr<std::string> RunRecorder::WriteLog(const std::string& name, const std::string& content) {
  std::string path = options_.log_dir + "/" + name;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  if (!f) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return path;
}

std::string RunRecorder::Log(const std::string& name, const std::string& content) {
  absl::StatusOr<std::string> path = WriteLog(name, content);
  if (path.ok()) return *path;
  Say(absl::StrCat("swarm: warning: ", path.status().message()));
  return "";
}

ProgressCounts CountProgress(int total, const Scheduler* scheduler, int busy_agents, int model_limit,
                             int model_in_flight) {
  ProgressCounts c{.total = total, .busy_agents = busy_agents, .model_limit = model_limit, .model_in_flight = model_in_flight};
  if (scheduler == nullptr) return c;  // before setup made it
  using State = Scheduler::State;
  c.landed = scheduler->Count(State::kLanded);
  c.failed = scheduler->Count(State::kFailed);
  c.skipped = scheduler->Count(State::kSkipped);
  c.unchanged = scheduler->Count(State::kNoChange);
  c.merging = scheduler->Count(State::kMerging) + scheduler->Count(State::kPatchReady);
  return c;
}

}  // namespace swarm
