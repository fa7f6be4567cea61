// The run's state in SQLite (WAL, synchronous=NORMAL). The event log is the source of truth: Apply()
// appends an event and updates the materialised tables (runs, subtasks, attempts, agents, patches,
// test_runs) in the same transaction, so the tables can never disagree with the log.
//
// One Store is the run's one writer: it is owned by the coordinator's executor and not thread-safe.
#ifndef SWARM_ORCHESTRATOR_STORE_STORE_H_
#define SWARM_ORCHESTRATOR_STORE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "swarm/v1/events.pb.h"

struct sqlite3;

namespace swarm {

inline constexpr int kSchemaVersion = 5;
inline constexpr std::uint32_t kEventSchemaVersion = 1;

// Whether a subtask in `state` has its final outcome (landed, a failure of some kind, skipped,
// unchanged). Cancelled is not final: a resumed run takes it up again.
bool IsFinal(v1::SubtaskState state);

struct SubtaskRow {
  v1::Subtask spec;
  v1::SubtaskState state = v1::PENDING;
  std::string reason;
  std::string log_path;
  std::string landed_commit;
  int attempts = 0;
};

struct RunRow {
  std::string id;
  std::string repo;
  std::string base;
  std::string head;
  std::string state;
  std::string result_branch;
  std::int64_t created_unix_ms = 0;
  std::int64_t finished_unix_ms = 0;
  std::string run_dir;
};

struct AttemptRow {
  std::string subtask_id;
  int attempt = 0;
  std::string host_id;
  std::string base;
  std::string outcome;  // patch, no_change, failed; empty while running
  std::string error;
  std::string log_path;
  std::int64_t started_unix_ms = 0;   // when its lease was granted
  std::int64_t finished_unix_ms = 0;  // when it ended; 0 while it runs
};

// Bodies stored beside an event rather than in the log: a PatchSubmitted's diff, a ModelCalled's
// request and reply.
struct EventBodies {
  std::string_view patch_diff = {};
  std::string_view model_request = {};
  std::string_view model_response = {};
};

// One stored model call, for `swarm show --transcript`.
struct ModelCallRow {
  std::uint64_t seq = 0;
  std::int64_t time_unix_ms = 0;
  v1::ModelCall call;
  std::string request;   // the HTTP request body
  std::string response;  // the HTTP response body (the event stream when streamed)
};

// Tokens and dollars, summed.
struct ModelSpend {
  std::uint64_t calls = 0;
  std::uint64_t failed = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t cached_input_tokens = 0;
  std::uint64_t output_tokens = 0;
  double cost_usd = 0;
  std::uint64_t limiter_wait_ms = 0;  // waiting for the rate limiter to admit the calls
};

// The sum over subtasks.
ModelSpend TotalSpend(const std::map<std::string, ModelSpend>& by_subtask);

class Store final {
 public:
  // Opens (creating and migrating as needed) the database at `path`. Fails with FailedPrecondition
  // for a database written by a newer swarm, PermissionDenied when the file cannot be written.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Appends `event` to its run's log, assigning seq and time (returned in `event`), and applies it
  // to the tables in one transaction, with its bodies.
  absl::Status Apply(v1::Event& event, const EventBodies& bodies = {});

  // Events of `run_id` with seq > `after_seq`, in order; the first `limit` of them (0: all).
  absl::StatusOr<std::vector<v1::Event>> Events(const std::string& run_id, std::uint64_t after_seq = 0,
                                                std::size_t limit = 0) const;
  // The run's newest event (RunFinished once it ended, with its exit code). NotFound before the first.
  absl::StatusOr<v1::Event> LastEvent(const std::string& run_id) const;
  absl::StatusOr<std::vector<SubtaskRow>> Subtasks(const std::string& run_id) const;
  absl::StatusOr<RunRow> Run(const std::string& run_id) const;
  // Every run, newest first.
  absl::StatusOr<std::vector<RunRow>> Runs() const;
  absl::StatusOr<std::vector<AttemptRow>> Attempts(const std::string& run_id) const;
  // The run's model calls (of one subtask when `subtask_id` is set), in order.
  absl::StatusOr<std::vector<ModelCallRow>> ModelCalls(const std::string& run_id, const std::string& subtask_id = "") const;
  // Spending per subtask ("" for calls of no subtask), from the model_calls table.
  absl::StatusOr<std::map<std::string, ModelSpend>> SpendBySubtask(const std::string& run_id) const;
  absl::StatusOr<std::string> PatchDiff(const std::string& run_id, const std::string& subtask_id, int attempt) const;
  // Deletes every record of `run_id` (swarm rm), in one transaction.
  absl::Status DeleteRun(const std::string& run_id);
  // Rows in a materialised table for `run_id` (for tests and `swarm show`).
  absl::StatusOr<int> CountRows(const std::string& table, const std::string& run_id) const;

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  absl::Status Exec(const std::string& sql);
  absl::Status Migrate();
  absl::Status Project(const v1::Event& event, const EventBodies& bodies);

  // Owned; used only by the owning executor.
  sqlite3* db_;
};

// The event as one line of proto3 JSON.
std::string EventToJson(const v1::Event& event);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_STORE_H_
