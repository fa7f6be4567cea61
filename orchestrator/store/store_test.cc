#include "orchestrator/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::TempDir;

// Reads one value from the database file with a connection of its own, as `sqlite3 FILE SQL` would.
std::string QueryOne(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    ADD_FAILURE() << "cannot open " << path;
    return "";
  }
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    out = text == nullptr ? "" : reinterpret_cast<const char*>(text);
  } else {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

v1::Subtask MakeSubtask(const std::string& id, const std::string& title, std::vector<std::string> files = {}) {
  v1::Subtask s;
  s.set_id(id);
  s.set_title(title);
  s.set_instructions("do " + id);
  for (auto& f : files) s.add_files(f);
  return s;
}

v1::Event RunStartedEvent(const std::string& run, std::vector<v1::Subtask> subtasks) {
  v1::Event e;
  e.set_run_id(run);
  auto* r = e.mutable_run_started();
  r->set_repo("/home/u/repo");
  r->set_base_commit("b0b0");
  r->set_result_branch("swarm/" + run);
  r->set_run_dir("/state/" + run);
  for (auto& s : subtasks) *r->add_subtasks() = std::move(s);
  return e;
}

v1::Event Leased(const std::string& run, const std::string& subtask, int attempt) {
  v1::Event e;
  e.set_run_id(run);
  auto* l = e.mutable_subtask_leased();
  l->set_subtask_id(subtask);
  l->set_attempt(attempt);
  l->set_host_id("host-1");
  l->set_lease_id("lease-" + subtask + "-" + std::to_string(attempt));
  l->set_fence(attempt);
  l->set_base_commit("b0b0");
  return e;
}

v1::Event Registered(const std::string& run, const std::string& host) {
  v1::Event e;
  e.set_run_id(run);
  e.mutable_agent_registered()->set_host_id(host);
  e.mutable_agent_registered()->set_slots(4);
  e.mutable_agent_registered()->set_pid(1234);
  return e;
}

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> OpenStore() {
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(path_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  void MustApply(Store& store, v1::Event e, std::string_view diff = {}) {
    absl::Status st = store.Apply(e, {.patch_diff = diff});
    ASSERT_TRUE(st.ok()) << st << " for " << EventToJson(e);
  }
  int Count(const Store& store, const std::string& table, const std::string& run) {
    absl::StatusOr<int> n = store.CountRows(table, run);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  TempDir dir_;
  std::string path_ = dir_ / "state.db";
};

TEST_F(StoreTest, OpenCreatesTheSchemaInWalMode) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryOne(path_, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(QueryOne(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryOne(path_, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                            "('events', 'runs', 'subtasks', 'attempts', 'agents', 'patches', 'test_runs')"),
            "7");
  MustApply(*store, Registered("r1", "h"));
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal")) << "writes go to the write-ahead log";
}

TEST_F(StoreTest, ReopeningAnUpToDateDatabaseKeepsItsSchemaAndData) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    MustApply(*store, RunStartedEvent("r1", {MakeSubtask("a", "A")}));
  }
  auto store = OpenStore();  // the migration must not run again on a current database
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Count(*store, "runs", "r1"), 1);
  EXPECT_EQ(QueryOne(path_, "PRAGMA user_version"), std::to_string(kSchemaVersion));
}

TEST_F(StoreTest, SeqIsAssignedPerRunFromOne) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<std::pair<std::string, std::uint64_t>> got;
  for (const char* run : {"r1", "r2", "r1", "r1", "r2", "r2"}) {
    v1::Event e = Registered(run, "h");
    ASSERT_TRUE(store->Apply(e).ok());
    EXPECT_EQ(e.schema(), kEventSchemaVersion);
    EXPECT_GT(e.time_unix_ms(), 0);
    got.emplace_back(run, e.seq());
  }
  std::vector<std::pair<std::string, std::uint64_t>> want = {{"r1", 1}, {"r2", 1}, {"r1", 2},
                                                             {"r1", 3}, {"r2", 2}, {"r2", 3}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(Count(*store, "events", "r1"), 3);
  EXPECT_EQ(Count(*store, "events", "r2"), 3);
}

TEST_F(StoreTest, AGivenTimeIsKept) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  v1::Event e = Registered("r1", "h");
  e.set_time_unix_ms(1577836800000);
  ASSERT_TRUE(store->Apply(e).ok());
  auto events = store->Events("r1");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].time_unix_ms(), 1577836800000);
}

TEST_F(StoreTest, RunStartedMaterialisesTheRunAndItsSubtasksInPlanOrder) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  MustApply(*store, RunStartedEvent("r1", {MakeSubtask("zeta", "Z", {"z.txt"}), MakeSubtask("alpha", "A"),
                                           MakeSubtask("mid", "M", {"m1", "m2"})}));
  absl::StatusOr<RunRow> run = store->Run("r1");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->id, "r1");
  EXPECT_EQ(run->repo, "/home/u/repo");
  EXPECT_EQ(run->base, "b0b0");
  EXPECT_EQ(run->head, "b0b0") << "nothing landed yet";
  EXPECT_EQ(run->state, "running");
  EXPECT_EQ(run->result_branch, "swarm/r1");
  EXPECT_GT(run->created_unix_ms, 0);
  EXPECT_EQ(run->finished_unix_ms, 0);

  absl::StatusOr<std::vector<SubtaskRow>> subtasks = store->Subtasks("r1");
  ASSERT_TRUE(subtasks.ok()) << subtasks.status();
  ASSERT_EQ(subtasks->size(), 3u);
  std::vector<std::string> ids;
  for (const auto& s : *subtasks) {
    ids.push_back(s.spec.id());
    EXPECT_EQ(s.state, v1::PENDING) << s.spec.id();
    EXPECT_EQ(s.attempts, 0);
    EXPECT_EQ(s.landed_commit, "");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ((*subtasks)[2].spec.title(), "M");
  EXPECT_EQ((*subtasks)[2].spec.instructions(), "do mid");
  ASSERT_EQ((*subtasks)[2].spec.files_size(), 2);
  EXPECT_EQ((*subtasks)[2].spec.files(1), "m2");

  EXPECT_EQ(store->Run("other").status().code(), absl::StatusCode::kNotFound);
  auto none = store->Subtasks("other");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, LifecycleEventsUpdateTheTables) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  MustApply(*store, RunStartedEvent("r1", {MakeSubtask("a", "A"), MakeSubtask("b", "B"), MakeSubtask("c", "C")}));
  MustApply(*store, Registered("r1", "host-1"));
  MustApply(*store, Registered("r1", "host-1"));  // a re-registration replaces, not duplicates
  MustApply(*store, Registered("r1", "host-2"));
  EXPECT_EQ(Count(*store, "agents", "r1"), 2);

  // a: first attempt fails, the second produces a patch that lands.
  MustApply(*store, Leased("r1", "a", 1));
  {
    auto subtasks = store->Subtasks("r1");
    ASSERT_TRUE(subtasks.ok());
    EXPECT_EQ((*subtasks)[0].state, v1::RUNNING);
    EXPECT_EQ((*subtasks)[0].attempts, 1);
    EXPECT_EQ((*subtasks)[1].state, v1::PENDING);
  }
  v1::Event finished;
  finished.set_run_id("r1");
  finished.mutable_attempt_finished()->set_subtask_id("a");
  finished.mutable_attempt_finished()->set_attempt(1);
  finished.mutable_attempt_finished()->set_outcome("failed");
  finished.mutable_attempt_finished()->set_error("agent crashed");
  MustApply(*store, finished);
  MustApply(*store, Leased("r1", "a", 2));
  EXPECT_EQ(Count(*store, "attempts", "r1"), 2);

  using namespace std::string_literals;
  const std::string diff = "diff --git a/bin b/bin\nGIT binary patch\n\0\x01\xff\0tail\n"s;
  ASSERT_EQ(diff.size(), 49u) << "the literal keeps its NULs";
  v1::Event patch;
  patch.set_run_id("r1");
  auto* p = patch.mutable_patch_submitted();
  p->set_subtask_id("a");
  p->set_attempt(2);
  p->set_base_commit("b0b0");
  p->set_tree("7ree");
  p->set_commit("c0a2");
  p->set_diff_bytes(diff.size());
  MustApply(*store, patch, diff);
  EXPECT_EQ(Count(*store, "patches", "r1"), 1);
  {
    auto subtasks = store->Subtasks("r1");
    ASSERT_TRUE(subtasks.ok());
    EXPECT_EQ((*subtasks)[0].state, v1::MERGING);
    EXPECT_EQ((*subtasks)[0].attempts, 2);
  }
  absl::StatusOr<std::string> stored = store->PatchDiff("r1", "a", 2);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, diff) << "the diff must round-trip byte for byte, NULs included";
  EXPECT_EQ(store->PatchDiff("r1", "a", 1).status().code(), absl::StatusCode::kNotFound);

  v1::Event test;
  test.set_run_id("r1");
  test.mutable_test_run()->set_tree("7ree");
  test.mutable_test_run()->set_command("make test");
  test.mutable_test_run()->set_passed(true);
  test.mutable_test_run()->set_result("exit 0");
  test.mutable_test_run()->set_log_path("/logs/t1");
  MustApply(*store, test);
  EXPECT_EQ(Count(*store, "test_runs", "r1"), 1);

  v1::Event landed;
  landed.set_run_id("r1");
  landed.mutable_landed()->add_subtask_ids("a");
  landed.mutable_landed()->set_commit("1and");
  landed.mutable_landed()->set_old_head("b0b0");
  MustApply(*store, landed);

  // b fails for good; c is skipped.
  MustApply(*store, Leased("r1", "b", 1));
  v1::Event failed;
  failed.set_run_id("r1");
  failed.mutable_subtask_finished()->set_subtask_id("b");
  failed.mutable_subtask_finished()->set_state(v1::FAILED);
  failed.mutable_subtask_finished()->set_reason("tests_failed");
  failed.mutable_subtask_finished()->set_log_path("/logs/b");
  MustApply(*store, failed);
  v1::Event skipped;
  skipped.set_run_id("r1");
  skipped.mutable_subtask_finished()->set_subtask_id("c");
  skipped.mutable_subtask_finished()->set_state(v1::SKIPPED_DEPENDENCY);
  skipped.mutable_subtask_finished()->set_reason("dependency b failed");
  MustApply(*store, skipped);

  auto subtasks = store->Subtasks("r1");
  ASSERT_TRUE(subtasks.ok());
  ASSERT_EQ(subtasks->size(), 3u);
  EXPECT_EQ((*subtasks)[0].state, v1::LANDED);
  EXPECT_EQ((*subtasks)[0].landed_commit, "1and");
  EXPECT_EQ((*subtasks)[0].reason, "");
  EXPECT_EQ((*subtasks)[1].state, v1::FAILED);
  EXPECT_EQ((*subtasks)[1].reason, "tests_failed");
  EXPECT_EQ((*subtasks)[1].log_path, "/logs/b");
  EXPECT_EQ((*subtasks)[1].attempts, 1);
  EXPECT_EQ((*subtasks)[1].landed_commit, "");
  EXPECT_EQ((*subtasks)[2].state, v1::SKIPPED_DEPENDENCY);
  EXPECT_EQ((*subtasks)[2].attempts, 0);
  EXPECT_EQ(Count(*store, "attempts", "r1"), 3);

  auto run = store->Run("r1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->head, "1and") << "the landed commit is the run's head";
  EXPECT_EQ(run->state, "running");

  v1::Event done;
  done.set_run_id("r1");
  done.mutable_run_finished()->set_state("completed");
  done.mutable_run_finished()->set_result_branch("swarm/final");
  done.mutable_run_finished()->set_head("1and");
  done.mutable_run_finished()->set_landed(1);
  MustApply(*store, done);
  run = store->Run("r1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, "completed");
  EXPECT_EQ(run->result_branch, "swarm/final");
  EXPECT_EQ(run->head, "1and");
  EXPECT_GE(run->finished_unix_ms, run->created_unix_ms);
  EXPECT_GT(run->finished_unix_ms, 0);

  EXPECT_EQ(Count(*store, "events", "r1"), 14);
  EXPECT_EQ(Count(*store, "subtasks", "r1"), 3);
  EXPECT_EQ(Count(*store, "runs", "r1"), 1);
}

TEST_F(StoreTest, LandingAGroupLandsEveryMember) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  MustApply(*store, RunStartedEvent("r1", {MakeSubtask("a", "A"), MakeSubtask("b", "B"), MakeSubtask("c", "C")}));
  v1::Event landed;
  landed.set_run_id("r1");
  landed.mutable_landed()->add_subtask_ids("a");
  landed.mutable_landed()->add_subtask_ids("c");
  landed.mutable_landed()->set_group("g");
  landed.mutable_landed()->set_commit("9999");
  MustApply(*store, landed);
  auto subtasks = store->Subtasks("r1");
  ASSERT_TRUE(subtasks.ok());
  EXPECT_EQ((*subtasks)[0].state, v1::LANDED);
  EXPECT_EQ((*subtasks)[0].landed_commit, "9999");
  EXPECT_EQ((*subtasks)[1].state, v1::PENDING);
  EXPECT_EQ((*subtasks)[2].state, v1::LANDED);
  EXPECT_EQ((*subtasks)[2].landed_commit, "9999");
}

TEST_F(StoreTest, EventsSurviveReopeningInOrder) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    MustApply(*store, RunStartedEvent("r1", {MakeSubtask("a", "A")}));
    MustApply(*store, Registered("r2", "elsewhere"));
    MustApply(*store, Registered("r1", "host-1"));
    MustApply(*store, Leased("r1", "a", 1));
    v1::Event f;
    f.set_run_id("r1");
    f.mutable_subtask_finished()->set_subtask_id("a");
    f.mutable_subtask_finished()->set_state(v1::NO_CHANGE);
    MustApply(*store, f);
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<v1::Event>> events = store->Events("r1");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  for (std::size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq(), i + 1);
    EXPECT_EQ((*events)[i].run_id(), "r1");
    EXPECT_EQ((*events)[i].schema(), kEventSchemaVersion);
  }
  EXPECT_EQ((*events)[0].kind_case(), v1::Event::kRunStarted);
  EXPECT_EQ((*events)[0].run_started().subtasks(0).id(), "a");
  EXPECT_EQ((*events)[1].agent_registered().host_id(), "host-1");
  EXPECT_EQ((*events)[2].subtask_leased().lease_id(), "lease-a-1");
  EXPECT_EQ((*events)[3].subtask_finished().state(), v1::NO_CHANGE);

  absl::StatusOr<std::vector<v1::Event>> tail = store->Events("r1", 2);
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].seq(), 3u);
  EXPECT_EQ((*tail)[1].seq(), 4u);
  auto past_end = store->Events("r1", 4);
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->empty());

  auto subtasks = store->Subtasks("r1");
  ASSERT_TRUE(subtasks.ok());
  ASSERT_EQ(subtasks->size(), 1u);
  EXPECT_EQ((*subtasks)[0].state, v1::NO_CHANGE);

  // Numbering goes on where it stopped.
  v1::Event next = Registered("r1", "host-2");
  ASSERT_TRUE(store->Apply(next).ok());
  EXPECT_EQ(next.seq(), 5u);
}

TEST_F(StoreTest, LastEventIsTheNewestOfItsRun) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(absl::IsNotFound(store->LastEvent("r1").status()));
  MustApply(*store, RunStartedEvent("r1", {MakeSubtask("a", "A")}));
  MustApply(*store, Registered("r1", "host-1"));
  MustApply(*store, Registered("r2", "elsewhere"));
  absl::StatusOr<v1::Event> last = store->LastEvent("r1");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->seq(), 2u);
  EXPECT_EQ(last->agent_registered().host_id(), "host-1");
}

TEST_F(StoreTest, EventWithoutRunIdIsRefused) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  v1::Event e = Registered("", "h");
  EXPECT_EQ(store->Apply(e).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(*store, "events", ""), 0);
  EXPECT_EQ(Count(*store, "agents", ""), 0);
}

TEST_F(StoreTest, EventWithoutKindIsRefusedAndRolledBack) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  MustApply(*store, Registered("r1", "h"));
  v1::Event empty;
  empty.set_run_id("r1");
  absl::Status st = store->Apply(empty);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_EQ(Count(*store, "events", "r1"), 1) << "the appended event must be rolled back";
  // The store is usable afterwards and the refused event used up no seq.
  v1::Event next = Registered("r1", "h2");
  ASSERT_TRUE(store->Apply(next).ok());
  EXPECT_EQ(next.seq(), 2u);
  EXPECT_EQ(Count(*store, "events", "r1"), 2);
}

TEST_F(StoreTest, EventThatCannotBeProjectedLeavesNoTrace) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  MustApply(*store, RunStartedEvent("r1", {MakeSubtask("a", "A")}));
  // A second RunStarted for the same run clashes with the runs row: neither the event nor any
  // of its subtasks may stay behind.
  v1::Event again = RunStartedEvent("r1", {MakeSubtask("x", "X")});
  EXPECT_FALSE(store->Apply(again).ok());
  EXPECT_EQ(Count(*store, "events", "r1"), 1);
  EXPECT_EQ(Count(*store, "subtasks", "r1"), 1);
  v1::Event next = Registered("r1", "h");
  ASSERT_TRUE(store->Apply(next).ok());
  EXPECT_EQ(next.seq(), 2u);
}

TEST_F(StoreTest, DatabaseFromANewerSwarmIsRefused) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::string sql = "CREATE TABLE future (x); PRAGMA user_version=" + std::to_string(kSchemaVersion + 1);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("upgrade"), std::string::npos) << store.status();
  EXPECT_EQ(QueryOne(path_, "PRAGMA user_version"), std::to_string(kSchemaVersion + 1)) << "left as it was";
  EXPECT_EQ(QueryOne(path_, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'events'"), "0");
}

TEST_F(StoreTest, UnwritablePathIsPermissionDenied) {
  for (const std::string& path : {std::string("/proc/swarm.db"), dir_ / "missing/dir/state.db"}) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_FALSE(store.ok()) << path;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied) << path << ": " << store.status();
    EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
  }
}

TEST_F(StoreTest, CountRowsRefusesUnknownTables) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CountRows("sqlite_master; DROP TABLE events", "r1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(*store, "events", "r1"), 0);
}

TEST(EventToJsonTest, UsesProtoFieldNamesOnOneLine) {
  v1::Event e = Leased("r1", "sub-1", 3);
  e.set_schema(kEventSchemaVersion);
  e.set_seq(7);
  std::string json = EventToJson(e);
  EXPECT_NE(json.find("\"subtask_leased\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"schema\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"run_id\":\"r1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"subtask_id\":\"sub-1\""), std::string::npos) << json;
  EXPECT_EQ(json.find("subtaskLeased"), std::string::npos) << json;
  EXPECT_EQ(json.find('\n'), std::string::npos) << json;
}

}  // namespace
}  // namespace swarm
