#include "orchestrator/run/terminal_view.h"

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/terminal_text.h"
#include "orchestrator/run/run_recorder.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

constexpr size_t kEventsShown = 4;

std::string Tokens(std::uint64_t n) {
  if (n >= 10'000'000) return absl::StrFormat("%.0fM", n / 1e6);
  if (n >= 1'000'000) return absl::StrFormat("%.1fM", n / 1e6);
  if (n >= 10'000) return absl::StrFormat("%.0fk", n / 1e3);
  if (n >= 1'000) return absl::StrFormat("%.1fk", n / 1e3);
  return absl::StrCat(n);
}

std::string Clock(std::int64_t unix_ms) {
  const std::time_t t = unix_ms / 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// The events worth a line in the view; empty for the others.
std::string Describe(const v1::Event& e) {
  switch (e.kind_case()) {
    case v1::Event::kLanded:
      return absl::StrCat("landed ", TerminalSafe(absl::StrJoin(e.landed().subtask_ids(), ", ")), " (",
                          e.landed().commit().substr(0, 10), ")");
    case v1::Event::kPatchRejected:
      return absl::StrCat("rejected ", TerminalSafe(e.patch_rejected().subtask_id()), ": ",
                          Name(ReasonOf(e.patch_rejected())));
    case v1::Event::kLeaseExpired:
      return absl::StrCat("lease expired: ", TerminalSafe(e.lease_expired().subtask_id()), " #",
                          e.lease_expired().attempt(), " (host ", TerminalSafe(e.lease_expired().host_id()),
                          " silent)");
    case v1::Event::kAttemptFinished:
      if (OutcomeOf(e.attempt_finished()) != v1::ATTEMPT_OUTCOME_FAILED) return "";
      return absl::StrCat("attempt failed: ", TerminalSafe(e.attempt_finished().subtask_id()), " #",
                          e.attempt_finished().attempt(), ": ", TerminalSafe(e.attempt_finished().error()));
    case v1::Event::kSubtaskFinished:
      if (e.subtask_finished().state() == v1::LANDED || e.subtask_finished().state() == v1::NO_CHANGE) return "";
      return absl::StrCat(TerminalSafe(e.subtask_finished().subtask_id()), " ",
                          absl::AsciiStrToLower(v1::SubtaskState_Name(e.subtask_finished().state())),
                          e.subtask_finished().reason().empty() ? "" : ": ",
                          TerminalSafe(e.subtask_finished().reason()));
    case v1::Event::kRunResumed:
      return "resumed";
    default:
      return "";
  }
}

}  // namespace

std::string ShortDuration(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrCat(s, "s");
}

int DisplayColumns(const std::string& text) {
  int columns = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\033') {  // an SGR sequence: ESC [ ... m
      while (i < text.size() && text[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++columns;
  }
  return columns;
}

std::string FitColumns(const std::string& text, int cols) {
  if (cols <= 0) return "";
  // Columns are counted as characters: the text is TerminalSafe (no control characters), and wide
  // characters are rare in what the view shows.
  int columns = 0;
  size_t i = 0, cut = std::string::npos;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // inside a character
    if (columns == cols - 1) cut = i;
    if (++columns > cols) break;
  }
  if (columns <= cols) return text;
  return text.substr(0, cut) + "\u2026";
}

void TerminalView::Seed(double cost_usd, std::uint64_t input_tokens, std::uint64_t cached_tokens,
                        std::uint64_t output_tokens) {
  cost_usd_ = cost_usd;
  input_tokens_ = input_tokens;
  cached_tokens_ = cached_tokens;
  output_tokens_ = output_tokens;
}

void TerminalView::Observe(const v1::Event& e) {
  switch (e.kind_case()) {
    case v1::Event::kModelCalled: {
      const v1::ModelCall& call = e.model_called().call();
      cost_usd_ += call.cost_usd();
      input_tokens_ += call.usage().input_tokens();
      cached_tokens_ += call.usage().cached_input_tokens();
      output_tokens_ += call.usage().output_tokens();
      break;
    }
    case v1::Event::kPatchRejected:
      ++rejected_;
      last_rejection_ = Name(ReasonOf(e.patch_rejected()));
      break;
    default:
      break;
  }
  std::string line = Describe(e);
  if (line.empty()) return;
  events_.push_back(absl::StrCat(Clock(e.time_unix_ms()), " ", line));
  if (events_.size() > kEventsShown) events_.pop_front();
}

std::string TerminalView::Paint(const char* sgr, const std::string& text) const {
  if (!options_.color || text.empty()) return text;
  return absl::StrCat("\033[", sgr, "m", text, "\033[0m");
}

std::vector<std::string> TerminalView::Render(const ProgressCounts& c, std::vector<AgentRow> agents, std::int64_t now,
                                              int cols, int rows) const {
  cols = std::max(cols, 20);
  rows = std::max(rows, 4);
  // Each line is fitted to the window before it is painted: escape codes take no columns.
  auto line = [&](const char* sgr, const std::string& text) { return Paint(sgr, FitColumns(text, cols)); };
  std::vector<std::string> out;

  std::string cost = absl::StrFormat("$%.2f", cost_usd_);
  if (options_.budget_usd > 0) absl::StrAppend(&cost, absl::StrFormat(" of $%.2f", options_.budget_usd));
  std::string head = absl::StrCat("swarm ", options_.run_id, "  ", ShortDuration(now - options_.start_unix_ms));
  if (c.model_limit > 0 || cost_usd_ > 0 || input_tokens_ > 0) {
    absl::StrAppend(&head, "  cost ", cost, "  tokens ", Tokens(input_tokens_), " in (", Tokens(cached_tokens_),
                    " cached), ", Tokens(output_tokens_), " out");
  }
  out.push_back(line("1", head));
  std::string counts;
  std::string progress = ProgressLine(c, &counts);
  out.push_back(line("", progress.substr(std::string("swarm: ").size())));

  // Below the agents: the queue, then the events; the agents get what rows are left.
  std::vector<std::string> tail;
  std::string queue = absl::StrCat("merge queue: ", c.merging, " patch", c.merging == 1 ? "" : "es",
                                   " in the check or the queue, ", c.landed, " landed, ", rejected_, " rejected");
  if (rejected_ > 0) absl::StrAppend(&queue, " (last: ", last_rejection_, ")");
  tail.push_back(line("", queue));
  for (const std::string& e : events_) tail.push_back(line("2", "  " + e));

  std::sort(agents.begin(), agents.end(), [](const AgentRow& a, const AgentRow& b) {
    return a.granted_unix_ms != b.granted_unix_ms ? a.granted_unix_ms < b.granted_unix_ms : a.subtask_id < b.subtask_id;
  });
  int room = rows - static_cast<int>(out.size() + tail.size());
  if (room < 1 && !agents.empty()) {
    // A small window: the events go first, then the queue; the agents keep a line.
    while (!tail.empty() && room < 1) {
      tail.pop_back();
      ++room;
    }
  }
  size_t shown = agents.size();
  if (static_cast<int>(shown) > room) shown = room > 0 ? static_cast<size_t>(room - 1) : 0;
  size_t width = 0;
  for (size_t i = 0; i < shown; ++i) width = std::max(width, std::min<size_t>(agents[i].subtask_id.size(), 24));
  for (size_t i = 0; i < shown; ++i) {
    const AgentRow& a = agents[i];
    std::string action = a.action.empty() ? "starting" : TerminalSafe(a.action);
    if (a.step > 0) action = absl::StrCat("step ", a.step, ": ", action);
    if (!a.action.empty()) absl::StrAppend(&action, " (", ShortDuration(now - a.action_unix_ms), ")");
    std::string id = TerminalSafe(a.subtask_id);
    id.resize(std::max(id.size(), width), ' ');
    out.push_back(
        line("", absl::StrFormat("  %s #%d %6s  %s", id, a.attempt, ShortDuration(now - a.granted_unix_ms), action)));
  }
  if (shown < agents.size() && room > 0) {
    out.push_back(line("2", absl::StrCat("  ... and ", agents.size() - shown, " more agents")));
  }
  for (std::string& t : tail) out.push_back(std::move(t));
  if (static_cast<int>(out.size()) > rows) out.resize(rows);
  return out;
}

}  // namespace swarm
