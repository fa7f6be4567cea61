#include "orchestrator/run/run_recorder.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/run/scheduler.h"

namespace swarm {

RunRecorder::RunRecorder(Options options, Store& store, std::ostream& out, std::ostream& err,
                         std::function<ProgressCounts()> counts)
    : options_(std::move(options)), store_(store), out_(out), err_(err), counts_(std::move(counts)) {}

absl::Status RunRecorder::Emit(v1::Event event, const EventBodies& bodies) {
  event.set_run_id(options_.run_id);
  if (absl::Status st = store_.Apply(event, bodies); !st.ok()) return st;
  if (options_.on_event) options_.on_event(event);
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

void RunRecorder::Progress() {
  if (options_.json || quiet_) return;
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
  err_ << (progress_open_ ? "\n" : "") << line << "\n";
  progress_open_ = false;
  last_line_.clear();  // the next progress line starts afresh below what was said
}

void RunRecorder::EndProgress() {
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
