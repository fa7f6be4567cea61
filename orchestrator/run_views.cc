#include "orchestrator/run_views.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/clock.h"
#include "base/live_log_path.h"
#include "base/terminal_text.h"
#include "orchestrator/plan/issue_planner.h"
#include "orchestrator/plan/planner.h"
#include "orchestrator/run/report.h"
#include "orchestrator/store/event_kinds.h"
#include "orchestrator/store/run_lock.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

// What agents, models and tests chose, as shown on a terminal: one line, or text of many lines.
std::string Safe(const std::string& s) { return TerminalSafe(s); }
std::string Text(const std::string& s) { return TerminalSafe(s, TextLines::kMulti); }

std::string When(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

// "4.2 s", "3m 05s", "2h 07m".
std::string Elapsed(std::int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 60'000) return absl::StrFormat("%.1f s", ms / 1000.0);
  const std::int64_t s = ms / 1000;
  if (s < 3600) return absl::StrFormat("%dm %02ds", s / 60, s % 60);
  return absl::StrFormat("%dh %02dm", s / 3600, (s % 3600) / 60);
}

void PrintFile(const std::string& path, std::ostream& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return;
  std::stringstream text;
  text << f.rdbuf();
  // Logs hold what agents and tests printed: shown as text, never as terminal commands.
  out << "==> " << TerminalSafe(path) << " <==\n" << TerminalSafe(text.str(), TextLines::kMulti) << "\n";
}

// A run recorded as running whose coordinator holds no lock died: say so, and what to do.
std::string StateOf(const RunRow& r) {
  if (r.state == "running" && !r.run_dir.empty() && RunLock::Holder(r.run_dir) == 0) return "interrupted";
  return r.state;
}

std::string SpendLine(const ModelSpend& s) {
  return absl::StrFormat("%u calls%s, %u tokens in (%u cached), %u out, $%.4f", s.calls,
                         s.failed > 0 ? absl::StrCat(" (", s.failed, " failed)") : "", s.input_tokens,
                         s.cached_input_tokens, s.output_tokens, s.cost_usd);
}

}  // namespace

absl::Status PrintRuns(const Store& store, std::ostream& out) {
  absl::StatusOr<std::vector<RunRow>> runs = store.Runs();
  if (!runs.ok()) return runs.status();
  if (runs->empty()) out << "no runs\n";
  for (const auto& r : *runs) {
    absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(r.id);
    int done = 0, unchanged = 0, total = 0;
    if (subtasks.ok()) {
      total = static_cast<int>(subtasks->size());
      for (const auto& s : *subtasks) {
        done += s.state == v1::LANDED || s.state == v1::NO_CHANGE;  // a subtask that needed no change is done
        unchanged += s.state == v1::NO_CHANGE;
      }
    }
    std::string state = StateOf(r);
    out << r.id << "  " << state << std::string(state.size() < 12 ? 12 - state.size() : 1, ' ')
        << When(r.created_unix_ms) << "  " << done << "/" << total << " done"
        << (unchanged > 0 ? absl::StrCat(" (", unchanged, " unchanged)") : "") << "  "
        << (r.finished_unix_ms == 0 ? "(no branch yet)" : r.result_branch.empty() ? "(no branch)" : Safe(r.result_branch))
        << "  " << Safe(r.repo) << "\n";
  }
  return absl::OkStatus();
}

absl::Status PrintRun(const Store& store, const std::string& run_id, std::ostream& out) {
  absl::StatusOr<RunRow> run = store.Run(run_id);
  if (!run.ok()) return run.status();
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(run_id);
  if (!subtasks.ok()) return subtasks.status();
  absl::StatusOr<std::vector<AttemptRow>> attempts = store.Attempts(run_id);
  if (!attempts.ok()) return attempts.status();
  std::map<std::string, std::vector<AttemptRow>> by_subtask;
  for (const auto& a : *attempts) by_subtask[a.subtask_id].push_back(a);

  const std::string state = StateOf(*run);
  out << "run     " << run->id << " (" << StateOf(*run)
      << (StateOf(*run) == "interrupted" ? ": its coordinator died; `swarm resume` continues it, `swarm cancel` closes it" : "")
      << ")\n"
      << "repo    " << Safe(run->repo) << "\n"
      << "base    " << run->base << "\n"
      << "head    " << run->head << "\n"
      << "branch  "
      << (run->finished_unix_ms == 0   ? "(none yet: made when the run ends)"
          : run->result_branch.empty() ? "(none)"
                                       : Safe(run->result_branch))
      << "\n"
      << "started " << When(run->created_unix_ms) << "\n";
  if (run->finished_unix_ms > 0) {
    out << "took    " << (run->finished_unix_ms - run->created_unix_ms) / 1000.0 << " s\n";
  }
  if (absl::StatusOr<v1::Event> last = store.LastEvent(run_id);
      last.ok() && last->has_run_finished() && !last->run_finished().reason().empty()) {
    out << "why     " << Safe(last->run_finished().reason()) << "\n";
  }
  out << "dir     " << Safe(run->run_dir) << "\n";
  absl::StatusOr<std::map<std::string, ModelSpend>> spend = store.SpendBySubtask(run_id);
  if (!spend.ok()) return spend.status();
  if (!spend->empty()) {
    out << "model   " << SpendLine(TotalSpend(*spend)) << "\n";
  }
  if (auto planner = spend->find(kPlannerConversation); planner != spend->end()) {
    out << "planner " << SpendLine(planner->second) << "; `swarm show " << run_id << " --transcript "
        << kPlannerConversation << "` shows its calls\n";
  }
  // A backlog's issues, each planned apart: one line for all, each issue's under its lane's first subtask.
  std::map<std::string, ModelSpend> issues_planned;
  std::set<std::string> lanes;
  for (const auto& s : *subtasks) {
    if (s.spec.lane().empty() || !lanes.insert(s.spec.lane()).second) continue;
    if (auto it = spend->find(IssuePlannerId(s.spec.lane())); it != spend->end()) issues_planned.insert(*it);
  }
  if (!issues_planned.empty()) {
    out << "planner " << SpendLine(TotalSpend(issues_planned)) << " for " << issues_planned.size()
        << " issues; `swarm show " << run_id << " --transcript " << IssuePlannerId("ID") << "` shows issue ID's\n";
  }
  lanes.clear();
  out << "\n";
  for (const auto& s : *subtasks) {
    out << Safe(s.spec.id()) << "  " << OutcomeName(s.state) << "  " << Safe(s.spec.title()) << "\n";
    if (!s.spec.lane().empty() && lanes.insert(s.spec.lane()).second) {
      if (auto it = spend->find(IssuePlannerId(s.spec.lane())); it != spend->end()) {
        out << "    planning issue " << Safe(s.spec.lane()) << ": " << SpendLine(it->second) << "\n";
      }
    }
    if (auto it = spend->find(s.spec.id()); it != spend->end()) out << "    model: " << SpendLine(it->second) << "\n";
    if (!s.reason.empty()) out << "    reason: " << Safe(s.reason) << "\n";
    if (!s.landed_commit.empty()) out << "    commit: " << s.landed_commit << "\n";
    for (const auto& a : by_subtask[s.spec.id()]) {
      out << "    attempt " << a.attempt << " on " << Safe(a.host_id) << " from " << a.base.substr(0, 12) << ": ";
      if (!a.outcome.empty()) {
        out << Safe(a.outcome);
        if (a.finished_unix_ms >= a.started_unix_ms && a.started_unix_ms > 0) {
          out << " after " << Elapsed(a.finished_unix_ms - a.started_unix_ms);
        }
      } else if (state == "running") {
        out << "running for " << Elapsed(UnixMillisNow() - a.started_unix_ms) << " (since " << When(a.started_unix_ms)
            << "; `swarm logs " << run_id << " " << Safe(s.spec.id()) << " --follow` shows its output)";
      } else {
        out << "(no result)";
      }
      if (!a.error.empty()) out << " - " << Safe(a.error);
      out << "\n";
      if (!a.log_path.empty()) out << "      log: " << Safe(a.log_path) << "\n";
    }
    if (!s.log_path.empty()) out << "    log: " << Safe(s.log_path) << "\n";
  }
  return absl::OkStatus();
}

absl::Status PrintTranscript(const Store& store, const std::string& run_id, const std::string& subtask_id,
                             std::ostream& out) {
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(run_id);
  if (!subtasks.ok()) return subtasks.status();
  bool known = false;
  for (const auto& s : *subtasks) known |= s.spec.id() == subtask_id;
  known |= subtask_id == kPlannerConversation;  // the planner's calls, for a run given a task
  for (const auto& s : *subtasks) known |= !s.spec.lane().empty() && subtask_id == IssuePlannerId(s.spec.lane());
  if (!known) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " has no subtask ", subtask_id,
                                            " (the planner's calls are `--transcript ", kPlannerConversation,
                                            "`, or for a backlog's issue `--transcript ", IssuePlannerId("ID"), "`)"));
  }
  absl::StatusOr<std::vector<ModelCallRow>> calls = store.ModelCalls(run_id, subtask_id);
  if (!calls.ok()) return calls.status();
  if (calls->empty()) out << "subtask " << subtask_id << " made no model calls\n";
  for (const ModelCallRow& row : *calls) {
    const v1::ModelCall& c = row.call;
    out << "=== attempt " << c.attempt() << " step " << c.step() << "  " << c.model() << "  " << When(row.time_unix_ms)
        << "  " << (c.ok() ? "ok" : "failed: " + Safe(c.error())) << "\n"
        << absl::StrFormat("    %u in (%u cached, %u written), %u out, $%.6f%s, %u ms, %u HTTP attempt(s)\n",
                           c.usage().input_tokens(), c.usage().cached_input_tokens(), c.usage().cache_write_tokens(),
                           c.usage().output_tokens(), c.cost_usd(), c.usage_reported() ? "" : " (no usage reported: charged its reservation)",
                           c.latency_ms(), c.http_attempts())
        << "--- request\n" << Text(row.request) << "\n";
    if (c.ok()) {
      const v1::ChatMessage& m = c.reply();
      out << "--- reply\n";
      if (!m.reasoning().empty()) out << "reasoning: " << Text(m.reasoning()) << "\n";
      if (!m.content().empty()) out << Text(m.content()) << "\n";
      for (const v1::ToolCall& t : m.tool_calls()) {
        out << "tool call " << Safe(t.id()) << ": " << Safe(t.name()) << " " << Text(t.arguments_json())
            << (t.error().empty() ? "" : "  (" + Safe(t.error()) + ")") << "\n";
      }
    }
    out << "--- as received\n" << Text(row.response) << "\n";
  }
  return absl::OkStatus();
}

absl::Status PrintLogs(const Store& store, const std::string& run_id, const std::string& subtask_id,
                       std::ostream& out) {
  absl::StatusOr<RunRow> run = store.Run(run_id);
  if (!run.ok()) return run.status();
  std::string dir = run->run_dir + "/logs";
  std::error_code ec;
  if (!fs::exists(dir, ec) && run->finished_unix_ms != 0) {
    return absl::NotFoundError(absl::StrCat("the logs of run ", run_id, " were removed (swarm gc); its record and ",
                                            "report stay: swarm show ", run_id));
  }
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) files.insert(entry.path().filename().string());
  if (!subtask_id.empty()) {
    absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(run_id);
    if (!subtasks.ok()) return subtasks.status();
    bool known = false;
    for (const auto& s : *subtasks) known |= s.spec.id() == subtask_id;
    if (!known) return absl::NotFoundError(absl::StrCat("run ", run_id, " has no subtask ", subtask_id));
  }
  for (const auto& name : files) {
    if (!subtask_id.empty()) {
      // <id>.<attempt>.agent.log, <id>.<attempt>.merge.log, <id>.test.log
      if (name.rfind(subtask_id + ".", 0) != 0) continue;
      std::string rest = name.substr(subtask_id.size() + 1);
      if (rest != "test.log" && (rest.empty() || !isdigit(static_cast<unsigned char>(rest[0])))) continue;
    }
    PrintFile(dir + "/" + name, out);
  }
  return absl::OkStatus();
}

absl::Status FollowLogs(const Store& store, const std::string& run_id, const std::string& subtask_id,
                        std::ostream& out) {
  if (subtask_id.empty())
    return absl::InvalidArgumentError("--follow needs a SUBTASK: swarm logs RUN SUBTASK --follow");
  // The attempts over before the logs are printed are in them; any later one is shown here.
  int shown = 0;  // the highest attempt shown (in the logs printed first, or below)
  {
    absl::StatusOr<std::vector<AttemptRow>> attempts = store.Attempts(run_id);
    if (!attempts.ok()) return attempts.status();
    for (const AttemptRow& a : *attempts) {
      if (a.subtask_id == subtask_id && !a.outcome.empty()) shown = std::max(shown, a.attempt);
    }
  }
  if (absl::Status st = PrintLogs(store, run_id, subtask_id, out); !st.ok()) return st;
  out.flush();
  int following = 0;  // the running attempt whose live log is read
  // Held open once found: the host removes the file when the attempt ends, and what it wrote last is
  // still read through this.
  std::unique_ptr<std::ifstream> live;
  std::string partial;  // the end of the output that is not a whole line yet
  auto drain = [&](const std::string& path) {
    if (live == nullptr) {
      auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
      if (!*f) return;
      live = std::move(f);
    }
    live->clear();  // past the end last time
    std::string chunk((std::istreambuf_iterator<char>(*live)), std::istreambuf_iterator<char>());
    const bool quiet = chunk.empty();
    partial += chunk;
    std::size_t end = partial.rfind('\n');
    if (end != std::string::npos) {
      out << TerminalSafe(partial.substr(0, end + 1), TextLines::kMulti);
      partial.erase(0, end + 1);
    }
    // Output without newlines (a progress bar) is shown once it stops coming for a moment, or is long:
    // up to its last whole UTF-8 character.
    if (!partial.empty() && (quiet || partial.size() > 4096)) {
      std::size_t cut = partial.size();
      for (std::size_t back = 0; back < 4 && back < partial.size(); ++back) {
        const unsigned char c = static_cast<unsigned char>(partial[partial.size() - 1 - back]);
        if ((c & 0xC0) == 0xC0) {  // a lead byte: is its sequence whole?
          const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
          if (back + 1 < need) cut = partial.size() - 1 - back;
          break;
        }
        if ((c & 0x80) == 0) break;
      }
      out << TerminalSafe(partial.substr(0, cut), TextLines::kMulti);
      partial.erase(0, cut);
    }
    out.flush();
  };
  auto end_attempt = [&](const AttemptRow& a, const std::string& live_dir) {
    drain(LiveLogPath(live_dir, subtask_id, a.attempt));
    if (!partial.empty()) out << TerminalSafe(partial, TextLines::kMulti) << "\n";
    partial.clear();
    // Over before its live log could be opened: its whole log, as `swarm logs` shows it.
    if (live == nullptr && !a.log_path.empty()) PrintFile(a.log_path, out);
    out << "==> attempt " << a.attempt << " ended: " << Safe(a.outcome)
        << (a.error.empty() ? "" : " - " + Safe(a.error)) << " <==\n"
        << std::flush;
    live.reset();
    following = 0;
    shown = std::max(shown, a.attempt);
  };
  for (;;) {
    absl::StatusOr<RunRow> run = store.Run(run_id);
    if (!run.ok()) return run.status();
    absl::StatusOr<std::vector<AttemptRow>> attempts = store.Attempts(run_id);
    if (!attempts.ok()) return attempts.status();
    absl::StatusOr<std::vector<SubtaskRow>> subtasks = store.Subtasks(run_id);
    if (!subtasks.ok()) return subtasks.status();
    const std::string live_dir = run->run_dir + "/live";
    const std::string run_state = StateOf(*run);
    std::vector<AttemptRow> mine;
    for (const AttemptRow& a : *attempts) {
      if (a.subtask_id == subtask_id) mine.push_back(a);
    }
    std::sort(mine.begin(), mine.end(), [](const AttemptRow& a, const AttemptRow& b) { return a.attempt < b.attempt; });
    for (const AttemptRow& a : mine) {
      if (a.attempt <= shown) continue;
      if (a.attempt == following) {
        if (!a.outcome.empty()) end_attempt(a, live_dir);
      } else if (following == 0 && !a.outcome.empty()) {
        // Started and ended between two looks: its whole log (end_attempt prints it).
        out << "==> attempt " << a.attempt << " on " << Safe(a.host_id) << " <==\n";
        end_attempt(a, live_dir);
      } else if (following == 0) {
        following = a.attempt;
        out << "==> attempt " << following << " on " << Safe(a.host_id) << ", running since " << When(a.started_unix_ms)
            << " (its output as it comes) <==\n"
            << std::flush;
      }
    }
    if (following != 0) drain(LiveLogPath(live_dir, subtask_id, following));
    v1::SubtaskState state = v1::SUBTASK_STATE_UNSPECIFIED;
    for (const SubtaskRow& s : *subtasks) {
      if (s.spec.id() == subtask_id) state = s.state;
    }
    const bool settled = state != v1::PENDING && state != v1::RUNNING && state != v1::MERGING &&
                         state != v1::FIX_UP_PENDING && state != v1::SUBTASK_STATE_UNSPECIFIED;
    // A run that is over (or whose coordinator died: its open attempt never ends) ends the follow too.
    if (run_state != "running" || (following == 0 && settled)) {
      if (!partial.empty()) out << TerminalSafe(partial, TextLines::kMulti) << "\n";
      out << "==> subtask " << Safe(subtask_id) << ": " << OutcomeName(state) << " (run " << run_state << ") <==\n";
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace swarm

namespace swarm {

absl::Status PrintQueue(const Store& store, const std::string& run_id, std::ostream& out) {
  absl::StatusOr<std::vector<v1::Event>> events = store.Events(run_id);
  if (!events.ok()) return events.status();
  if (events->empty()) return absl::NotFoundError(absl::StrCat("no run ", run_id));
  auto ids = [](const auto& list) {
    std::string s;
    for (const auto& id : list) absl::StrAppend(&s, s.empty() ? "" : "+", id);
    return s;
  };
  for (const auto& e : *events) {
    std::string when = When(e.time_unix_ms()).substr(11);
    if (e.has_patch_submitted()) {
      const auto& p = e.patch_submitted();
      out << "#" << e.seq() << "  " << when << "  queued    " << Safe(p.subtask_id()) << " (attempt " << p.attempt()
          << ", base " << p.base_commit().substr(0, 12) << ", " << p.diff_bytes() << " bytes)\n";
    } else if (e.has_test_run() && e.test_run().subtask_ids_size() > 0) {
      const auto& t = e.test_run();
      out << "#" << e.seq() << "  " << when << (StageOf(t) == v1::TEST_STAGE_CHECK ? "  checked   " : "  tested    ")
          << Safe(ids(t.subtask_ids())) << ": "
          << Safe(t.passed() || t.verdict().empty() ? t.result() : "rejected: " + t.verdict()) << " ("
          << t.duration_ms() << " ms)";
      if (t.flaky_tests_size() > 0) out << "  flaky: " << Safe(ids(t.flaky_tests()));
      out << "\n";
    } else if (e.has_landed()) {
      const auto& l = e.landed();
      out << "#" << e.seq() << "  " << when << "  landed    " << Safe(ids(l.subtask_ids())) << " as "
          << l.commit().substr(0, 12) << " on " << l.old_head().substr(0, 12) << "\n";
    } else if (e.has_patch_rejected()) {
      const auto& r = e.patch_rejected();
      out << "#" << e.seq() << "  " << when << "  rejected  " << Safe(r.subtask_id()) << ": " << Name(ReasonOf(r)) << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace swarm
