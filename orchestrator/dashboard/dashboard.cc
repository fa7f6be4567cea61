#include "orchestrator/dashboard/dashboard.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/live_log_path.h"
#include "nlohmann/json.hpp"
#include "orchestrator/dashboard/dashboard_auth.h"
#include "orchestrator/dashboard/static_files.h"
#include "orchestrator/store/cancel_file.h"
#include "orchestrator/store/run_lock.h"
#include "orchestrator/store/store.h"
#include "orchestrator/web/web_routes.h"

namespace swarm {
namespace {

using json = nlohmann::json;

constexpr size_t kEventsPerRead = 500;           // one read of the log by a stream
constexpr size_t kStreamBytesPerPoll = 2 << 20;  // what a stream sends at most per look, catching up
constexpr size_t kMaxRuns = 500;         // the runs page lists the newest ones
constexpr off_t kMaxLogBytes = 1 << 20;  // a log's tail, as much as a page shows
constexpr size_t kMaxTranscriptBytes = 8 << 20;

WebResponse Json(int status, const json& value) {
  WebResponse r;
  r.status = status;
  r.content_type = "application/json";
  // Text an agent chose may hold anything: invalid UTF-8 is replaced rather than refused.
  r.body = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

WebResponse Error(int status, const std::string& message) { return Json(status, json{{"error", message}}); }

std::string_view ContentType(const std::string& name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

WebResponse Page(const std::string& name) {
  WebResponse r;
  r.content_type = std::string(ContentType(name));
  r.body = std::string(StaticFile(name));
  return r;
}

// A run's or subtask's id as a path segment may hold: nothing that could climb out of a directory.
bool SafeId(const std::string& id) {
  if (id.empty() || id.size() > 200 || id == "." || id == "..") return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

// A subtask as the stream sends it: never its prompt (instructions, an issue's body).
void StripPrompt(v1::Subtask& s) {
  s.clear_instructions();
  if (s.has_issue()) s.mutable_issue()->clear_body();
}

// What the stream sends of an event. Never a prompt or a model's reply (the transcript, with the
// token, has them), nor what is large. Without the token, status only: no text an agent or a command
// wrote (summaries, errors, verdicts, the commands), and of an agent's action only its kind ("edit",
// "run_tests", "waiting for the model": what comes before a colon).
v1::Event ForStream(v1::Event event, bool authorized) {
  if (event.has_run_started()) {
    v1::RunStarted& r = *event.mutable_run_started();
    for (auto& s : *r.mutable_subtasks()) StripPrompt(s);
    r.clear_spec();
    if (!authorized) {
      r.clear_test_command();
      r.clear_agent_command();
    }
  }
  if (event.has_issue_planned()) {
    for (auto& s : *event.mutable_issue_planned()->mutable_subtasks()) StripPrompt(s);
    if (!authorized) event.mutable_issue_planned()->clear_note();
  }
  if (event.has_model_called()) event.mutable_model_called()->mutable_call()->clear_reply();
  if (event.has_patch_rejected()) event.mutable_patch_rejected()->clear_conflict_json();
  if (authorized) return event;
  if (event.has_patch_submitted()) event.mutable_patch_submitted()->clear_summary();
  if (event.has_attempt_finished()) event.mutable_attempt_finished()->clear_error();
  // A reason may quote an agent (an attempt's error) or the planner.
  if (event.has_subtask_finished()) event.mutable_subtask_finished()->clear_reason();
  if (event.has_run_finished()) event.mutable_run_finished()->clear_reason();
  if (event.has_test_run()) {
    event.mutable_test_run()->clear_verdict();
    event.mutable_test_run()->clear_command();
  }
  if (event.has_model_called()) event.mutable_model_called()->mutable_call()->clear_error();
  if (event.has_agent_activity()) {
    std::string* action = event.mutable_agent_activity()->mutable_action();
    if (size_t colon = action->find(':'); colon != std::string::npos) action->resize(colon);
  }
  return event;
}

// The budget a run began with (its spec's), for the page's chart; RunResumed events may change it.
double BudgetOf(const v1::Event& started) {
  return started.run_started().spec().has_budget_usd() ? started.run_started().spec().budget_usd() : 0;
}

std::string Sse(const v1::Event& event, bool authorized) {
  return absl::StrCat("id: ", event.seq(), "\ndata: ", EventToJson(ForStream(event, authorized)), "\n\n");
}

// The last `max` bytes of the file at `path` (all of it when smaller); nullopt when it cannot be read.
std::optional<std::string> Tail(const std::string& path, off_t max) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return std::nullopt;
  }
  const off_t from = st.st_size > max ? st.st_size - max : 0;
  std::string out(static_cast<size_t>(st.st_size - from), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = pread(fd, out.data() + got, out.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  out.resize(got);
  if (from > 0) out = absl::StrCat("[... the first ", from, " bytes are left out ...]\n", out);
  return out;
}

}  // namespace

Dashboard::Dashboard(DashboardOptions options) : options_(std::move(options)) {}
Dashboard::~Dashboard() = default;

Store* Dashboard::store() {
  if (store_ != nullptr) return store_.get();
  const std::string db = options_.state_dir + "/swarm.db";
  if (access(db.c_str(), F_OK) != 0) return nullptr;  // Store::Open would make one: a reader must not
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(db);
  if (!opened.ok()) return nullptr;
  store_ = std::move(*opened);
  return store_.get();
}

WebResponse Dashboard::Answer(const WebRequest& request) {
  if (request.path == "/metrics" || request.path == "/healthz") return AnswerWebRequest(request);
  const bool get = request.method == "GET" || request.method == "HEAD";
  std::vector<std::string> parts = absl::StrSplit(request.path, '/', absl::SkipEmpty());
  const bool api = !parts.empty() && parts[0] == "api";
  if (!api) {
    if (!get) return WebResponse::Text(405, "only GET\n");
    // A page's URL that carries the token: the cookie from now on, and the same page without it.
    if (QueryParameter(request.query, "token").has_value()) return SignIn(request, options_.token, options_.secure);
    if (parts.empty()) return Page("index.html");
    if (parts.size() == 2 && parts[0] == "runs" && SafeId(parts[1])) return Page("run.html");
    if (parts.size() == 2 && parts[0] == "static" && !StaticFile(parts[1]).empty()) return Page(parts[1]);
    return WebResponse::Text(404, "not found\n");
  }
  const bool authorized = Authorized(request, options_.token);
  const size_t n = parts.size();
  if (n >= 3 && parts[1] == "runs" && !SafeId(parts[2])) return Error(404, "no such run");
  if (n == 4 && parts[1] == "runs" && parts[3] == "cancel") {
    if (request.method != "POST") return Error(405, "cancel is a POST");
    if (!authorized) return Error(401, "cancelling a run needs the token");
    if (!SameOriginRequest(request)) return Error(403, "cancel comes from the dashboard's own page only");
    return Cancel(parts[2]);
  }
  if (!get) return Error(405, "only GET");
  if (n == 2 && parts[1] == "runs") return Runs();
  if (n == 3 && parts[1] == "runs") return Run(parts[2], authorized);
  if (n == 4 && parts[1] == "runs" && parts[3] == "events") return Events(request, parts[2], authorized);
  if (n >= 5 && parts[1] == "runs" && parts[3] == "subtasks" && SafeId(parts[4])) {
    if (n == 5) return Subtask(parts[2], parts[4], authorized);
    if (n == 6 && (parts[5] == "log" || parts[5] == "transcript")) {
      if (!authorized) return Error(401, absl::StrCat("a subtask's ", parts[5], " needs the token"));
      return parts[5] == "log" ? Log(request, parts[2], parts[4]) : Transcript(parts[2], parts[4]);
    }
  }
  if (n == 2 && parts[1] == "session") return Json(200, json{{"authorized", authorized}});
  return Error(404, "not found");
}

WebResponse Dashboard::Runs() {
  json runs = json::array();
  Store* s = store();
  if (s == nullptr) return Json(200, json{{"runs", runs}, {"state_dir", options_.state_dir}});
  absl::StatusOr<std::vector<RunRow>> rows = s->Runs();
  if (!rows.ok()) return Error(500, std::string(rows.status().message()));
  for (size_t i = 0; i < rows->size() && i < kMaxRuns; ++i) {
    const RunRow& r = (*rows)[i];
    json run = {{"id", r.id},
                {"state", r.state},
                {"repo", r.repo},
                {"result_branch", r.result_branch},
                {"created_unix_ms", r.created_unix_ms},
                {"finished_unix_ms", r.finished_unix_ms}};
    const RunCounts counts = CountsOf(r.id, r.finished_unix_ms != 0);
    run["subtasks"] = counts.total;
    run["landed"] = counts.landed;
    run["failed"] = counts.failed;
    run["cost_usd"] = counts.cost_usd;
    // Whether some process still runs it: a run that is not finished and has none waits for `swarm resume`.
    run["live"] = r.finished_unix_ms == 0 && RunLock::Holder(options_.state_dir + "/runs/" + r.id) != 0;
    runs.push_back(std::move(run));
  }
  return Json(200, json{{"runs", runs}, {"state_dir", options_.state_dir}, {"more", rows->size() > kMaxRuns}});
}

Dashboard::RunCounts Dashboard::CountsOf(const std::string& run_id, bool finished) {
  if (auto it = finished_counts_.find(run_id); it != finished_counts_.end()) {
    if (finished) return it->second;
    finished_counts_.erase(it);  // resumed: it runs again
  }
  RunCounts c;
  if (absl::StatusOr<std::vector<SubtaskRow>> subtasks = store_->Subtasks(run_id); subtasks.ok()) {
    for (const SubtaskRow& st : *subtasks) {
      ++c.total;
      c.landed += st.state == v1::LANDED;
      c.failed += IsFinal(st.state) && st.state != v1::LANDED && st.state != v1::NO_CHANGE;
    }
  }
  if (absl::StatusOr<std::map<std::string, ModelSpend>> spend = store_->SpendBySubtask(run_id); spend.ok()) {
    c.cost_usd = TotalSpend(*spend).cost_usd;
  }
  if (finished) finished_counts_[run_id] = c;
  return c;
}

WebResponse Dashboard::Run(const std::string& run_id, bool authorized) {
  Store* s = store();
  absl::StatusOr<RunRow> row = s != nullptr ? s->Run(run_id) : absl::NotFoundError("");
  if (!row.ok()) return Error(404, absl::StrCat("no run ", run_id, " in ", options_.state_dir));
  double budget = 0;
  if (absl::StatusOr<std::vector<v1::Event>> first = s->Events(run_id, 0, 1); first.ok() && !first->empty()) {
    budget = BudgetOf(first->front());
  }
  return Json(200,
              json{{"id", row->id},
                   {"state", row->state},
                   {"repo", row->repo},
                   {"base", row->base},
                   {"head", row->head},
                   {"result_branch", row->result_branch},
                   {"created_unix_ms", row->created_unix_ms},
                   {"finished_unix_ms", row->finished_unix_ms},
                   {"budget_usd", budget},
                   {"live", row->finished_unix_ms == 0 && RunLock::Holder(options_.state_dir + "/runs/" + run_id) != 0},
                   {"authorized", authorized}});
}

WebResponse Dashboard::Events(const WebRequest& request, const std::string& run_id, bool authorized) {
  Store* s = store();
  if (s == nullptr || !s->Run(run_id).ok()) return Error(404, absl::StrCat("no run ", run_id));
  // Where to resume: the browser's Last-Event-ID after a reconnect, else ?after=SEQ, else the start.
  std::uint64_t after = 0;
  std::string from = request.Header("last-event-id");
  if (from.empty()) from = QueryParameter(request.query, "after").value_or("");
  if (!from.empty() && !absl::SimpleAtoi(from, &after)) return Error(400, "after must be a sequence number");
  WebResponse r;
  r.content_type = "text/event-stream";
  r.body = "retry: 1000\n\n";
  struct Position {
    std::uint64_t seq = 0;
    std::uint64_t live_version = 0;
    std::uint64_t finished_seq = 0;  // a RunFinished sent whose being the last could not be read yet
  };
  auto at = std::make_shared<Position>(Position{.seq = after});
  r.stream = [this, run_id, at, authorized](std::string& out) {
    Store* s = store();
    if (s == nullptr) return false;
    // Live updates are taken before the log is read: an agent's first word, sent after its lease was
    // stored, then reaches the page after the lease, never before it (where it would be dropped).
    const std::uint64_t live_before = at->live_version;
    std::vector<v1::Event> live;
    if (options_.live != nullptr) live = options_.live->Since(run_id, &at->live_version);
    // The end, unless the run was resumed since (its log goes on after this RunFinished).
    auto ended = [&](std::uint64_t finished_seq) {
      absl::StatusOr<v1::Event> last = s->LastEvent(run_id);
      at->finished_seq = last.ok() ? 0 : finished_seq;  // unread: asked again at the next look
      return last.ok() && last->seq() == finished_seq;
    };
    // Catching up (a page's first load, a reconnect), reads follow one another up to a budget a poll.
    bool caught_up = false;
    for (size_t sent = 0; sent < kStreamBytesPerPoll;) {
      absl::StatusOr<std::vector<v1::Event>> events = s->Events(run_id, at->seq, kEventsPerRead);
      if (!events.ok()) return false;  // the browser reconnects from the last id it saw
      for (const v1::Event& e : *events) {
        at->seq = e.seq();
        const std::string line = Sse(e, authorized);
        sent += line.size();
        out += line;
        if (e.has_run_finished() && ended(e.seq())) {
          out += "event: end\ndata: {}\n\n";
          return false;
        }
      }
      if (events->size() < kEventsPerRead) {
        caught_up = true;
        if (events->empty() && at->finished_seq != 0 && at->finished_seq == at->seq && ended(at->seq)) {
          out += "event: end\ndata: {}\n\n";
          return false;
        }
        break;
      }
    }
    // Not caught up: the live words may be about events the page does not have yet (it would drop
    // them); they are sent at the look that catches up.
    if (!caught_up) {
      at->live_version = live_before;
      return true;
    }
    for (v1::Event& e : live)
      absl::StrAppend(&out, "event: live\ndata: ", EventToJson(ForStream(std::move(e), authorized)), "\n\n");
    return true;
  };
  return r;
}

WebResponse Dashboard::Subtask(const std::string& run_id, const std::string& subtask_id, bool authorized) {
  Store* s = store();
  absl::StatusOr<std::vector<SubtaskRow>> subtasks = s != nullptr ? s->Subtasks(run_id) : absl::NotFoundError("");
  if (!subtasks.ok()) return Error(404, absl::StrCat("no run ", run_id));
  auto it =
      std::find_if(subtasks->begin(), subtasks->end(), [&](const SubtaskRow& r) { return r.spec.id() == subtask_id; });
  if (it == subtasks->end()) return Error(404, absl::StrCat("no subtask ", subtask_id, " in run ", run_id));
  json out = {{"id", it->spec.id()},
              {"title", it->spec.title()},
              {"group", it->spec.group()},
              {"depends_on", std::vector<std::string>(it->spec.depends_on().begin(), it->spec.depends_on().end())},
              {"files", std::vector<std::string>(it->spec.files().begin(), it->spec.files().end())},
              {"state", v1::SubtaskState_Name(it->state)},
              {"reason", authorized ? it->reason : ""},
              {"landed_commit", it->landed_commit},
              {"authorized", authorized}};
  if (authorized) out["instructions"] = it->spec.instructions();
  json attempts = json::array();
  if (absl::StatusOr<std::vector<AttemptRow>> rows = s->Attempts(run_id); rows.ok()) {
    for (const AttemptRow& a : *rows) {
      if (a.subtask_id != subtask_id) continue;
      attempts.push_back({{"attempt", a.attempt},
                          {"host_id", a.host_id},
                          {"outcome", a.outcome},
                          {"error", authorized ? a.error : ""},
                          {"started_unix_ms", a.started_unix_ms},
                          {"finished_unix_ms", a.finished_unix_ms}});
    }
  }
  out["attempts"] = attempts;
  if (absl::StatusOr<std::map<std::string, ModelSpend>> spend = s->SpendBySubtask(run_id); spend.ok()) {
    auto found = spend->find(subtask_id);
    const ModelSpend m = found == spend->end() ? ModelSpend{} : found->second;
    out["spend"] = {{"calls", m.calls},
                    {"input_tokens", m.input_tokens},
                    {"cached_input_tokens", m.cached_input_tokens},
                    {"output_tokens", m.output_tokens},
                    {"cost_usd", m.cost_usd}};
  }
  return Json(200, out);
}

WebResponse Dashboard::Log(const WebRequest& request, const std::string& run_id, const std::string& subtask_id) {
  int attempt = 0;
  if (!absl::SimpleAtoi(QueryParameter(request.query, "attempt").value_or(""), &attempt) || attempt <= 0) {
    return Error(400, "log needs ?attempt=N, N from 1");
  }
  Store* s = store();
  absl::StatusOr<std::vector<AttemptRow>> rows = s != nullptr ? s->Attempts(run_id) : absl::NotFoundError("");
  if (!rows.ok()) return Error(404, absl::StrCat("no run ", run_id));
  auto it = std::find_if(rows->begin(), rows->end(),
                         [&](const AttemptRow& a) { return a.subtask_id == subtask_id && a.attempt == attempt; });
  if (it == rows->end()) return Error(404, absl::StrCat("no attempt ", attempt, " of ", subtask_id));
  // A running attempt's output is in the run's live directory as it is written; a finished one's log
  // is where its event says. Either must be inside the run's directory.
  const std::string run_dir = options_.state_dir + "/runs/" + run_id;
  const std::string path = it->finished_unix_ms == 0 || it->log_path.empty()
                               ? LiveLogPath(run_dir + "/live", subtask_id, attempt)
                               : it->log_path;
  std::optional<std::string> text = absl::StartsWith(path, run_dir + "/") && path.find("/../") == std::string::npos
                                        ? Tail(path, kMaxLogBytes)
                                        : std::nullopt;
  if (!text) return WebResponse::Text(404, absl::StrCat("attempt ", attempt, " of ", subtask_id, " has no log yet\n"));
  return WebResponse::Text(200, std::move(*text));
}

WebResponse Dashboard::Transcript(const std::string& run_id, const std::string& subtask_id) {
  Store* s = store();
  absl::StatusOr<std::vector<ModelCallRow>> calls =
      s != nullptr ? s->ModelCalls(run_id, subtask_id) : absl::NotFoundError("");
  if (!calls.ok()) return Error(404, absl::StrCat("no run ", run_id));
  json out = json::array();
  size_t bytes = 0;
  for (const ModelCallRow& c : *calls) {
    bytes += c.request.size() + c.response.size();
    if (bytes > kMaxTranscriptBytes) break;  // the page says so; `swarm show --transcript` has it all
    out.push_back({{"seq", c.seq},
                   {"time_unix_ms", c.time_unix_ms},
                   {"attempt", c.call.attempt()},
                   {"step", c.call.step()},
                   {"model", c.call.model()},
                   {"cost_usd", c.call.cost_usd()},
                   {"request", c.request},
                   {"response", c.response}});
  }
  return Json(200, json{{"calls", out}, {"complete", out.size() == calls->size()}});
}

WebResponse Dashboard::Cancel(const std::string& run_id) {
  if (options_.cancel) {
    absl::Status st = options_.cancel(run_id, "cancelled from the dashboard");
    if (st.ok()) return Json(202, json{{"cancelling", run_id}});
    if (!absl::IsNotFound(st)) return Error(409, std::string(st.message()));
  }
  Store* s = store();
  absl::StatusOr<RunRow> row = s != nullptr ? s->Run(run_id) : absl::NotFoundError("");
  if (!row.ok()) return Error(404, absl::StrCat("no run ", run_id));
  if (row->finished_unix_ms != 0) return Error(409, absl::StrCat("run ", run_id, " already ended (", row->state, ")"));
  const std::string run_dir = options_.state_dir + "/runs/" + run_id;
  if (RunLock::Holder(run_dir) == 0) {
    return Error(
        409, absl::StrCat("run ", run_id, " has no live coordinator; `swarm cancel ", run_id, "` marks it cancelled"));
  }
  // What `swarm cancel` writes: the coordinator polls its run directory's cancel file.
  if (absl::Status st = WriteCancelFile(run_dir, "cancelled from the dashboard"); !st.ok()) {
    return Error(500, std::string(st.message()));
  }
  return Json(202, json{{"cancelling", run_id}});
}

}  // namespace swarm
