#include "orchestrator/store/store.h"

#include <sqlite3.h>

#include <chrono>
#include <map>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "orchestrator/store/content_chunks.h"
#include "orchestrator/store/deflate.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One prepared statement; binds by position, steps, finalizes.
class Stmt final {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(std::string_view v) {
    sqlite3_bind_text(stmt_, ++arg_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(const char* v) { return Bind(std::string_view(v)); }
  Stmt& Bind(const std::string& v) { return Bind(std::string_view(v)); }
  Stmt& Bind(std::int64_t v) {
    sqlite3_bind_int64(stmt_, ++arg_, v);
    return *this;
  }
  Stmt& BindReal(double v) {
    sqlite3_bind_double(stmt_, ++arg_, v);
    return *this;
  }
  Stmt& BindBlob(std::string_view v) {
    sqlite3_bind_blob(stmt_, ++arg_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Ready to bind and step again.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    arg_ = 0;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return rc_ == SQLITE_OK ? sqlite3_step(stmt_) : rc_; }
  absl::Status Run() {
    int rc = Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
    return Error(rc);
  }
  absl::Status Error(int rc) const {
    return absl::InternalError(absl::StrCat("sqlite: ", sqlite3_errmsg(db_), " (", rc, ")"));
  }
  std::string Text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p == nullptr ? "" : std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col));
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  int arg_ = 0;
};

const char* const kMigrations[] = {
    // Version 1.
    R"sql(
    CREATE TABLE events (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, kind TEXT NOT NULL,
      payload BLOB NOT NULL, PRIMARY KEY (run_id, seq));
    CREATE TABLE runs (
      id TEXT PRIMARY KEY, repo TEXT NOT NULL, base TEXT NOT NULL, head TEXT NOT NULL,
      state TEXT NOT NULL, result_branch TEXT NOT NULL DEFAULT '', run_dir TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE subtasks (
      run_id TEXT NOT NULL, id TEXT NOT NULL, ord INTEGER NOT NULL, spec BLOB NOT NULL,
      state INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', log_path TEXT NOT NULL DEFAULT '',
      landed_commit TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (run_id, id));
    CREATE TABLE attempts (
      run_id TEXT NOT NULL, subtask_id TEXT NOT NULL, attempt INTEGER NOT NULL, host_id TEXT NOT NULL,
      lease_id TEXT NOT NULL, fence INTEGER NOT NULL, base TEXT NOT NULL, outcome TEXT NOT NULL DEFAULT '',
      error TEXT NOT NULL DEFAULT '', log_path TEXT NOT NULL DEFAULT '', started_ms INTEGER NOT NULL,
      finished_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, subtask_id, attempt));
    CREATE TABLE agents (
      run_id TEXT NOT NULL, host_id TEXT NOT NULL, slots INTEGER NOT NULL, pid INTEGER NOT NULL,
      registered_ms INTEGER NOT NULL, PRIMARY KEY (run_id, host_id));
    CREATE TABLE patches (
      run_id TEXT NOT NULL, subtask_id TEXT NOT NULL, attempt INTEGER NOT NULL, base TEXT NOT NULL,
      tree TEXT NOT NULL, commit_id TEXT NOT NULL, diff BLOB NOT NULL,
      PRIMARY KEY (run_id, subtask_id, attempt));
    CREATE TABLE test_runs (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, tree TEXT NOT NULL, command TEXT NOT NULL,
      passed INTEGER NOT NULL, result TEXT NOT NULL, log_path TEXT NOT NULL, duration_ms INTEGER NOT NULL,
      PRIMARY KEY (run_id, seq));
    CREATE INDEX test_runs_by_tree ON test_runs (tree, command);
    )sql",
    // Version 2: model calls through the gateway.
    R"sql(
    CREATE TABLE model_calls (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, subtask_id TEXT NOT NULL,
      attempt INTEGER NOT NULL, step INTEGER NOT NULL, call BLOB NOT NULL, ok INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
      cost_usd REAL NOT NULL, request BLOB NOT NULL, response BLOB NOT NULL, PRIMARY KEY (run_id, seq));
    CREATE INDEX model_calls_by_subtask ON model_calls (run_id, subtask_id);
    )sql",
    // Version 3: how long each call waited for the rate limiter.
    R"sql(
    ALTER TABLE model_calls ADD COLUMN limiter_wait_ms INTEGER NOT NULL DEFAULT 0;
    )sql",
    // Version 4: requests stored once per run as content-defined chunks (content_chunks.h); a row's
    // request_chunks lists its chunk ids, and its request column is empty (rows from before keep it).
    R"sql(
    CREATE TABLE chunks (run_id TEXT NOT NULL, id BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run_id, id))
      WITHOUT ROWID;
    ALTER TABLE model_calls ADD COLUMN request_chunks BLOB NOT NULL DEFAULT x'';
    )sql",
    // Version 5: replies as received are stored deflated (rows from before are not).
    R"sql(
    ALTER TABLE model_calls ADD COLUMN response_deflated INTEGER NOT NULL DEFAULT 0;
    )sql",
};

std::string KindName(const v1::Event& e) {
  const auto* field = e.GetDescriptor()->FindFieldByNumber(e.kind_case());
  return field == nullptr ? "unknown" : field->name();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::PermissionDeniedError(absl::StrCat("cannot open the state database ", path, ": ", msg));
  }
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (absl::Status st = store->Exec(pragma); !st.ok()) {
      return absl::PermissionDeniedError(absl::StrCat("cannot use the state database ", path, ": ", st.message()));
    }
  }
  if (absl::Status st = store->Migrate(); !st.ok()) return st;
  return store;
}

Store::~Store() { sqlite3_close(db_); }

absl::Status Store::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("sqlite: ", msg));
  }
  return absl::OkStatus();
}

absl::Status Store::Migrate() {
  if (absl::Status st = Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  int version = 0;
  {
    Stmt q(db_, "PRAGMA user_version");
    if (q.Step() == SQLITE_ROW) version = static_cast<int>(q.Int(0));
  }
  constexpr int kLatest = sizeof(kMigrations) / sizeof(kMigrations[0]);
  static_assert(kLatest == kSchemaVersion);
  if (version > kLatest) {
    (void)Exec("ROLLBACK");
    return absl::FailedPreconditionError(absl::StrCat("the state database has schema version ", version,
                                                      ", newer than this swarm's ", kLatest, ": upgrade swarm"));
  }
  for (int v = version; v < kLatest; ++v) {
    if (absl::Status st = Exec(kMigrations[v]); !st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  if (absl::Status st = Exec(absl::StrCat("PRAGMA user_version=", kLatest)); !st.ok()) return st;
  return Exec("COMMIT");
}

absl::Status Store::Apply(v1::Event& event, const EventBodies& bodies) {
  if (event.run_id().empty()) return absl::InvalidArgumentError("event without a run id");
  if (absl::Status st = Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  auto rollback = [&](absl::Status st) {
    (void)Exec("ROLLBACK");
    return st;
  };
  std::uint64_t seq = 1;
  {
    Stmt q(db_, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?");
    q.Bind(event.run_id());
    if (q.Step() == SQLITE_ROW) seq = static_cast<std::uint64_t>(q.Int(0));
  }
  event.set_schema(kEventSchemaVersion);
  event.set_seq(seq);
  if (event.time_unix_ms() == 0) event.set_time_unix_ms(NowMs());
  std::string payload;
  event.SerializeToString(&payload);
  Stmt insert(db_, "INSERT INTO events (run_id, seq, time_ms, kind, payload) VALUES (?, ?, ?, ?, ?)");
  insert.Bind(event.run_id()).Bind(static_cast<std::int64_t>(seq)).Bind(event.time_unix_ms()).Bind(KindName(event));
  insert.BindBlob(payload);
  if (absl::Status st = insert.Run(); !st.ok()) return rollback(st);
  if (absl::Status st = Project(event, bodies); !st.ok()) return rollback(st);
  return Exec("COMMIT");
}

absl::Status Store::Project(const v1::Event& e, const EventBodies& bodies) {
  const std::string& run = e.run_id();
  const std::int64_t now = e.time_unix_ms();
  switch (e.kind_case()) {
    case v1::Event::kRunStarted: {
      const auto& r = e.run_started();
      Stmt s(db_, "INSERT INTO runs (id, repo, base, head, state, result_branch, run_dir, created_ms) "
                  "VALUES (?, ?, ?, ?, 'running', ?, ?, ?)");
      s.Bind(run).Bind(r.repo()).Bind(r.base_commit()).Bind(r.base_commit()).Bind(r.result_branch());
      if (absl::Status st = s.Bind(r.run_dir()).Bind(now).Run(); !st.ok()) return st;
      for (int i = 0; i < r.subtasks_size(); ++i) {
        std::string spec;
        r.subtasks(i).SerializeToString(&spec);
        Stmt t(db_, "INSERT INTO subtasks (run_id, id, ord, spec, state) VALUES (?, ?, ?, ?, ?)");
        t.Bind(run).Bind(r.subtasks(i).id()).Bind(static_cast<std::int64_t>(i)).BindBlob(spec);
        if (absl::Status st = t.Bind(static_cast<std::int64_t>(v1::PENDING)).Run(); !st.ok()) return st;
      }
      return absl::OkStatus();
    }
    case v1::Event::kAgentRegistered: {
      const auto& a = e.agent_registered();
      Stmt s(db_, "INSERT OR REPLACE INTO agents (run_id, host_id, slots, pid, registered_ms) VALUES (?, ?, ?, ?, ?)");
      return s.Bind(run).Bind(a.host_id()).Bind(static_cast<std::int64_t>(a.slots()))
          .Bind(static_cast<std::int64_t>(a.pid())).Bind(now).Run();
    }
    case v1::Event::kSubtaskLeased: {
      const auto& l = e.subtask_leased();
      Stmt s(db_, "INSERT INTO attempts (run_id, subtask_id, attempt, host_id, lease_id, fence, base, started_ms) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      s.Bind(run).Bind(l.subtask_id()).Bind(static_cast<std::int64_t>(l.attempt())).Bind(l.host_id());
      s.Bind(l.lease_id()).Bind(static_cast<std::int64_t>(l.fence())).Bind(l.base_commit()).Bind(now);
      if (absl::Status st = s.Run(); !st.ok()) return st;
      Stmt u(db_, "UPDATE subtasks SET state = ?, attempts = ? WHERE run_id = ? AND id = ?");
      return u.Bind(static_cast<std::int64_t>(v1::RUNNING)).Bind(static_cast<std::int64_t>(l.attempt()))
          .Bind(run).Bind(l.subtask_id()).Run();
    }
    case v1::Event::kAttemptFinished: {
      const auto& a = e.attempt_finished();
      Stmt s(db_, "UPDATE attempts SET outcome = ?, error = ?, log_path = ?, finished_ms = ? "
                  "WHERE run_id = ? AND subtask_id = ? AND attempt = ?");
      return s.Bind(std::string(Name(OutcomeOf(a)))).Bind(a.error()).Bind(a.log_path()).Bind(now).Bind(run).Bind(a.subtask_id())
          .Bind(static_cast<std::int64_t>(a.attempt())).Run();
    }
    case v1::Event::kPatchSubmitted: {
      const auto& p = e.patch_submitted();
      Stmt s(db_, "INSERT OR REPLACE INTO patches (run_id, subtask_id, attempt, base, tree, commit_id, diff) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)");
      s.Bind(run).Bind(p.subtask_id()).Bind(static_cast<std::int64_t>(p.attempt())).Bind(p.base_commit());
      if (absl::Status st = s.Bind(p.tree()).Bind(p.commit()).BindBlob(bodies.patch_diff).Run(); !st.ok()) return st;
      Stmt u(db_, "UPDATE subtasks SET state = ? WHERE run_id = ? AND id = ?");
      return u.Bind(static_cast<std::int64_t>(v1::MERGING)).Bind(run).Bind(p.subtask_id()).Run();
    }
    case v1::Event::kTestRun: {
      const auto& t = e.test_run();
      Stmt s(db_, "INSERT INTO test_runs (run_id, seq, tree, command, passed, result, log_path, duration_ms) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      return s.Bind(run).Bind(static_cast<std::int64_t>(e.seq())).Bind(t.tree()).Bind(t.command())
          .Bind(static_cast<std::int64_t>(t.passed())).Bind(t.result()).Bind(t.log_path())
          .Bind(static_cast<std::int64_t>(t.duration_ms())).Run();
    }
    case v1::Event::kLanded: {
      const auto& l = e.landed();
      Stmt s(db_, "UPDATE runs SET head = ? WHERE id = ?");
      if (absl::Status st = s.Bind(l.commit()).Bind(run).Run(); !st.ok()) return st;
      for (const auto& id : l.subtask_ids()) {
        Stmt u(db_, "UPDATE subtasks SET state = ?, landed_commit = ?, reason = '' WHERE run_id = ? AND id = ?");
        if (absl::Status st = u.Bind(static_cast<std::int64_t>(v1::LANDED)).Bind(l.commit()).Bind(run).Bind(id).Run();
            !st.ok()) {
          return st;
        }
      }
      return absl::OkStatus();
    }
    case v1::Event::kSubtaskFinished: {
      const auto& f = e.subtask_finished();
      Stmt s(db_, "UPDATE subtasks SET state = ?, reason = ?, log_path = ? WHERE run_id = ? AND id = ?");
      return s.Bind(static_cast<std::int64_t>(f.state())).Bind(f.reason()).Bind(f.log_path()).Bind(run)
          .Bind(f.subtask_id()).Run();
    }
    case v1::Event::kRunFinished: {
      const auto& f = e.run_finished();
      Stmt s(db_, "UPDATE runs SET state = ?, finished_ms = ?, result_branch = ?, head = ? WHERE id = ?");
      return s.Bind(std::string(Name(StateOf(f)))).Bind(now).Bind(f.result_branch()).Bind(f.head()).Bind(run).Run();
    }
    case v1::Event::kIssuePlanned: {
      // The issue's lone subtask (its id is the issue's, never leased yet) gives way to its plan's, in
      // its place (rows of one `ord` keep the order they were written in).
      const auto& p = e.issue_planned();
      if (p.subtasks_size() == 0) return absl::OkStatus();
      Stmt q(db_, "SELECT ord FROM subtasks WHERE run_id = ? AND id = ?");
      q.Bind(run).Bind(p.lane());
      if (q.Step() != SQLITE_ROW) return absl::FailedPreconditionError("a planned issue has no subtask: " + p.lane());
      const std::int64_t ord = q.Int(0);
      Stmt d(db_, "DELETE FROM subtasks WHERE run_id = ? AND id = ?");
      if (absl::Status st = d.Bind(run).Bind(p.lane()).Run(); !st.ok()) return st;
      for (const v1::Subtask& sub : p.subtasks()) {
        std::string spec;
        sub.SerializeToString(&spec);
        Stmt t(db_, "INSERT INTO subtasks (run_id, id, ord, spec, state) VALUES (?, ?, ?, ?, ?)");
        t.Bind(run).Bind(sub.id()).Bind(ord).BindBlob(spec);
        if (absl::Status st = t.Bind(static_cast<std::int64_t>(v1::PENDING)).Run(); !st.ok()) return st;
      }
      return absl::OkStatus();
    }
    case v1::Event::kPatchRejected:
      return absl::OkStatus();  // the subtask's outcome follows in SubtaskFinished
    case v1::Event::kModelCalled: {
      const v1::ModelCall& c = e.model_called().call();
      std::string call;
      c.SerializeToString(&call);
      // The request as chunks, each stored once per run: an attempt's requests repeat each other.
      std::string chunk_ids;
      Stmt chunk(db_, "INSERT OR IGNORE INTO chunks (run_id, id, data) VALUES (?,?,?)");
      for (const Chunk& piece : SplitIntoChunks(bodies.model_request)) {
        chunk.Reset();
        if (absl::Status st = chunk.Bind(run).BindBlob(piece.id).BindBlob(piece.data).Run(); !st.ok()) return st;
        chunk_ids += piece.id;
      }
      Stmt s(db_, "INSERT INTO model_calls (run_id, seq, time_ms, subtask_id, attempt, step, call, ok, input_tokens, "
                  "cached_tokens, output_tokens, cost_usd, request, response, limiter_wait_ms, request_chunks, "
                  "response_deflated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)");
      s.Bind(run).Bind(static_cast<std::int64_t>(e.seq())).Bind(now).Bind(c.subtask_id());
      s.Bind(static_cast<std::int64_t>(c.attempt())).Bind(static_cast<std::int64_t>(c.step())).BindBlob(call);
      s.Bind(static_cast<std::int64_t>(c.ok())).Bind(static_cast<std::int64_t>(c.usage().input_tokens()));
      s.Bind(static_cast<std::int64_t>(c.usage().cached_input_tokens()));
      s.Bind(static_cast<std::int64_t>(c.usage().output_tokens())).BindReal(c.cost_usd());
      s.BindBlob("").BindBlob(Deflate(bodies.model_response));
      return s.Bind(static_cast<std::int64_t>(c.limiter_wait_ms())).BindBlob(chunk_ids).Run();
    }
    case v1::Event::kRunResumed: {
      Stmt s(db_, "UPDATE runs SET state = 'running', finished_ms = 0, head = ? WHERE id = ?");
      return s.Bind(e.run_resumed().head()).Bind(run).Run();
    }
    case v1::Event::kLeaseExpired: {
      const auto& x = e.lease_expired();
      Stmt s(db_, "UPDATE attempts SET outcome = 'expired', error = 'lease expired', finished_ms = ? "
                  "WHERE run_id = ? AND subtask_id = ? AND attempt = ?");
      return s.Bind(now).Bind(run).Bind(x.subtask_id()).Bind(static_cast<std::int64_t>(x.attempt())).Run();
    }
    case v1::Event::kResultRefused:
      return absl::OkStatus();  // the log is the record; outcomes follow in their own events
    case v1::Event::kAgentActivity:
      return absl::InvalidArgumentError("an agent's activity is live only: it is never stored");
    case v1::Event::kQueueTesting:
      return absl::InvalidArgumentError("the merge stages' tests starting are live only: never stored");
    case v1::Event::KIND_NOT_SET:
      return absl::InvalidArgumentError("event without a kind");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Event>> Store::Events(const std::string& run_id, std::uint64_t after_seq,
                                                     std::size_t limit) const {
  Stmt q(db_, "SELECT payload FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?");
  const std::int64_t max_rows =
      limit == 0 || limit > static_cast<std::size_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(limit);
  q.Bind(run_id).Bind(static_cast<std::int64_t>(after_seq)).Bind(max_rows);
  std::vector<v1::Event> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    v1::Event e;
    if (!e.ParseFromString(q.Text(0))) return absl::DataLossError("corrupt event in the state database");
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return q.Error(rc);
  return out;
}

absl::StatusOr<std::vector<SubtaskRow>> Store::Subtasks(const std::string& run_id) const {
  Stmt q(db_,
         "SELECT spec, state, reason, log_path, landed_commit, attempts FROM subtasks WHERE run_id = ? "
         "ORDER BY ord, rowid");
  q.Bind(run_id);
  std::vector<SubtaskRow> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    SubtaskRow row;
    if (!row.spec.ParseFromString(q.Text(0))) return absl::DataLossError("corrupt subtask in the state database");
    row.state = static_cast<v1::SubtaskState>(q.Int(1));
    row.reason = q.Text(2);
    row.log_path = q.Text(3);
    row.landed_commit = q.Text(4);
    row.attempts = static_cast<int>(q.Int(5));
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return q.Error(rc);
  return out;
}

namespace {
constexpr char kRunColumns[] = "id, repo, base, head, state, result_branch, created_ms, finished_ms, run_dir";
RunRow ReadRun(const Stmt& q) {
  return RunRow{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6), q.Int(7), q.Text(8)};
}
}  // namespace

absl::Status Store::DeleteRun(const std::string& run_id) {
  if (absl::Status st = Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  for (const char* sql : {"DELETE FROM model_calls WHERE run_id = ?", "DELETE FROM chunks WHERE run_id = ?", "DELETE FROM test_runs WHERE run_id = ?", "DELETE FROM patches WHERE run_id = ?",
                          "DELETE FROM agents WHERE run_id = ?", "DELETE FROM attempts WHERE run_id = ?",
                          "DELETE FROM subtasks WHERE run_id = ?", "DELETE FROM events WHERE run_id = ?",
                          "DELETE FROM runs WHERE id = ?"}) {
    Stmt s(db_, sql);
    if (absl::Status st = s.Bind(run_id).Run(); !st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  return Exec("COMMIT");
}

absl::StatusOr<v1::Event> Store::LastEvent(const std::string& run_id) const {
  Stmt q(db_, "SELECT payload FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1");
  q.Bind(run_id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no events of run ", run_id));
  if (rc != SQLITE_ROW) return q.Error(rc);
  v1::Event e;
  if (!e.ParseFromString(q.Text(0))) return absl::DataLossError("corrupt event in the state database");
  return e;
}

bool IsFinal(v1::SubtaskState state) {
  switch (state) {
    case v1::LANDED:
    case v1::FAILED:
    case v1::SKIPPED_DEPENDENCY:
    case v1::NO_CHANGE:
    case v1::REJECTED_CHECK:
    case v1::REJECTED_QUEUE:
    case v1::CONFLICT_EXHAUSTED:
    case v1::FAILED_AGENT:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<RunRow> Store::Run(const std::string& run_id) const {
  Stmt q(db_, absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE id = ?"));
  q.Bind(run_id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no run ", run_id));
  if (rc != SQLITE_ROW) return q.Error(rc);
  return ReadRun(q);
}

absl::StatusOr<std::vector<RunRow>> Store::Runs() const {
  Stmt q(db_, absl::StrCat("SELECT ", kRunColumns, " FROM runs ORDER BY created_ms DESC, id DESC"));
  std::vector<RunRow> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadRun(q));
  if (rc != SQLITE_DONE) return q.Error(rc);
  return out;
}

absl::StatusOr<std::vector<AttemptRow>> Store::Attempts(const std::string& run_id) const {
  Stmt q(db_,
         "SELECT subtask_id, attempt, host_id, base, outcome, error, log_path, started_ms, "
         "COALESCE(finished_ms, 0) FROM attempts WHERE run_id = ? ORDER BY started_ms, subtask_id, attempt");
  q.Bind(run_id);
  std::vector<AttemptRow> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out.push_back({q.Text(0), static_cast<int>(q.Int(1)), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Text(6),
                   q.Int(7), q.Int(8)});
  }
  if (rc != SQLITE_DONE) return q.Error(rc);
  return out;
}

absl::StatusOr<std::string> Store::PatchDiff(const std::string& run_id, const std::string& subtask_id,
                                             int attempt) const {
  Stmt q(db_, "SELECT diff FROM patches WHERE run_id = ? AND subtask_id = ? AND attempt = ?");
  q.Bind(run_id).Bind(subtask_id).Bind(static_cast<std::int64_t>(attempt));
  int rc = q.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("no such patch");
  if (rc != SQLITE_ROW) return q.Error(rc);
  return q.Text(0);
}

absl::StatusOr<std::vector<ModelCallRow>> Store::ModelCalls(const std::string& run_id,
                                                            const std::string& subtask_id) const {
  Stmt q(db_, subtask_id.empty()
                  ? "SELECT seq, time_ms, call, request, response, request_chunks, response_deflated FROM model_calls "
                    "WHERE run_id = ? ORDER BY seq"
                  : "SELECT seq, time_ms, call, request, response, request_chunks, response_deflated FROM model_calls "
                    "WHERE run_id = ? AND subtask_id = ? ORDER BY seq");
  q.Bind(run_id);
  if (!subtask_id.empty()) q.Bind(subtask_id);
  std::vector<ModelCallRow> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    ModelCallRow row;
    row.seq = static_cast<std::uint64_t>(q.Int(0));
    row.time_unix_ms = q.Int(1);
    if (!row.call.ParseFromString(q.Text(2))) return absl::DataLossError("a stored model call does not parse");
    row.request = q.Text(3);
    row.response = q.Text(4);
    if (q.Int(6) != 0) {
      absl::StatusOr<std::string> inflated = Inflate(row.response);
      if (!inflated.ok()) return inflated.status();
      row.response = std::move(*inflated);
    }
    const std::string ids = q.Text(5);
    if (ids.size() % kChunkIdBytes != 0) return absl::DataLossError("a stored request's chunk list is cut");
    Stmt chunk(db_, "SELECT data FROM chunks WHERE run_id = ? AND id = ?");
    for (std::size_t at = 0; at < ids.size(); at += kChunkIdBytes) {
      chunk.Reset();
      chunk.Bind(run_id).BindBlob(std::string_view(ids).substr(at, kChunkIdBytes));
      if (chunk.Step() != SQLITE_ROW) return absl::DataLossError("a stored request's chunk is missing");
      row.request += chunk.Text(0);
    }
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return q.Error(rc);
  return out;
}

ModelSpend TotalSpend(const std::map<std::string, ModelSpend>& by_subtask) {
  ModelSpend total;
  for (const auto& [id, s] : by_subtask) {
    total.calls += s.calls;
    total.failed += s.failed;
    total.input_tokens += s.input_tokens;
    total.cached_input_tokens += s.cached_input_tokens;
    total.output_tokens += s.output_tokens;
    total.cost_usd += s.cost_usd;
    total.limiter_wait_ms += s.limiter_wait_ms;
  }
  return total;
}

absl::StatusOr<std::map<std::string, ModelSpend>> Store::SpendBySubtask(const std::string& run_id) const {
  Stmt q(db_, "SELECT subtask_id, COUNT(*), SUM(1 - ok), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens), "
              "SUM(cost_usd), SUM(limiter_wait_ms) FROM model_calls WHERE run_id = ? GROUP BY subtask_id");
  q.Bind(run_id);
  std::map<std::string, ModelSpend> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    ModelSpend& s = out[q.Text(0)];
    s.calls = static_cast<std::uint64_t>(q.Int(1));
    s.failed = static_cast<std::uint64_t>(q.Int(2));
    s.input_tokens = static_cast<std::uint64_t>(q.Int(3));
    s.cached_input_tokens = static_cast<std::uint64_t>(q.Int(4));
    s.output_tokens = static_cast<std::uint64_t>(q.Int(5));
    s.cost_usd = q.Real(6);
    s.limiter_wait_ms = static_cast<std::uint64_t>(q.Int(7));
  }
  if (rc != SQLITE_DONE) return q.Error(rc);
  return out;
}

absl::StatusOr<int> Store::CountRows(const std::string& table, const std::string& run_id) const {
  static const std::map<std::string, std::string> kRunColumn = {
      {"events", "run_id"},   {"runs", "id"},       {"subtasks", "run_id"}, {"attempts", "run_id"},
      {"agents", "run_id"},   {"patches", "run_id"}, {"test_runs", "run_id"}, {"model_calls", "run_id"},
      {"chunks", "run_id"}};
  auto it = kRunColumn.find(table);
  if (it == kRunColumn.end()) return absl::InvalidArgumentError(absl::StrCat("no table ", table));
  Stmt q(db_, absl::StrCat("SELECT COUNT(*) FROM ", table, " WHERE ", it->second, " = ?"));
  q.Bind(run_id);
  int rc = q.Step();
  if (rc != SQLITE_ROW) return q.Error(rc);
  return static_cast<int>(q.Int(0));
}

std::string EventToJson(const v1::Event& event) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(event, &out, options);
  return out;
}

}  // namespace swarm
