// The control plane end to end: a real `swarm serve` process, real clients (`swarm run --server`,
// `swarm watch`) and the Control API through a real gRPC channel over a Unix socket.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include "orchestrator/control_client.h"
#include "orchestrator/store/store.h"
#include "sandbox/process.h"
#include "swarm/v1/control.grpc.pb.h"
#include "testing/serve_process.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

class ControlTest : public ::testing::Test {
 protected:
  std::string state() const { return dir_ / "state"; }
  // In the state directory, beside the server's token: clients find the token there by default.
  std::string socket() const { return dir_ / "state/c.sock"; }
  // The server's flags: the test's repositories are all in its directory.
  std::vector<std::string> allow() const { return {"--allow-repo-root", dir_.path()}; }
  // A repository with `files` (name -> content), committed.
  std::string MakeRepo(const std::string& name, const std::map<std::string, std::string>& files) {
    std::string repo = dir_ / name;
    InitRepo(repo);
    for (const auto& [f, content] : files) WriteFile(repo + "/" + f, content);
    CommitAll(repo, "base");
    return repo;
  }
  std::string Branch(const std::string& repo) {
    return Trim(Sh("git -C " + repo + " for-each-ref --format='%(refname:short)' refs/heads/swarm/"));
  }
  std::string Show(const std::string& repo, const std::string& what) {
    return Trim(Sh("git -C " + repo + " show " + what));
  }

  TempDir dir_;
};

// What a client means, and nothing more: every other setting takes `swarm run`'s default.
v1::RunSpec PlanSpec(const std::string& repo, const std::string& plan, const std::string& agent_cmd) {
  v1::RunSpec spec;
  spec.set_repo(repo);
  spec.set_plan_text(plan);
  spec.set_agent_command(agent_cmd);
  spec.set_test_command("true");
  spec.set_agents(2);
  spec.set_max_attempts(1);
  return spec;
}

// Reads `count` events (all when 0) of a Watch from `after_seq`, then drops the connection.
struct Watched {
  std::vector<v1::Event> events;
  grpc::Status status;
};
Watched WatchSome(const ServeProcess& server, const std::string& run_id, std::uint64_t after_seq, size_t count) {
  auto stub = server.Stub();  // a fresh channel: a real reconnection
  grpc::ClientContext context;
  v1::WatchRequest request;
  request.set_run_id(run_id);
  request.set_after_seq(after_seq);
  auto reader = stub->Watch(&context, request);
  Watched w;
  v1::Event e;
  while ((count == 0 || w.events.size() < count) && reader->Read(&e)) w.events.push_back(e);
  if (count != 0 && w.events.size() == count) context.TryCancel();
  w.status = reader->Finish();
  return w;
}

TEST_F(ControlTest, WatcherReconnectingFromItsLastSeqSeesEveryEventExactlyOnceInOrder) {
  std::string repo = MakeRepo("repo", {{"README", "base\n"}});
  ServeProcess server(state(), socket(), allow());
  std::string plan = R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
    {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]},
    {"id": "c", "title": "C", "instructions": "", "files": ["c.txt"]},
    {"id": "d", "title": "D", "instructions": "", "files": ["d.txt"]}]})";
  auto stub = server.Stub();
  grpc::ClientContext submit_context;
  v1::SubmitRequest submit;
  *submit.mutable_spec() = PlanSpec(repo, plan, "sleep 1; echo $SWARM_SUBTASK_ID > $SWARM_SUBTASK_ID.txt");
  v1::SubmitReply reply;
  grpc::Status st = stub->Submit(&submit_context, submit, &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_FALSE(reply.run_id().empty());

  // Three connections: dropped after 3 events, after 4 more, then followed to the end.
  std::vector<v1::Event> seen, live;
  std::uint64_t last = 0;
  for (size_t count : {3u, 4u, 0u}) {
    Watched w = WatchSome(server, reply.run_id(), last, count);
    if (count != 0) {
      EXPECT_EQ(w.status.error_code(), grpc::StatusCode::CANCELLED) << w.status.error_message();
      // Dropped mid-run, not after the end.
      grpc::ClientContext get_context;
      v1::GetRequest get;
      get.set_run_id(reply.run_id());
      v1::RunStatus status;
      ASSERT_TRUE(stub->Get(&get_context, get, &status).ok());
      EXPECT_FALSE(status.finished()) << "the run ended before the watcher reconnected; make its agents slower";
    } else {
      EXPECT_TRUE(w.status.ok()) << w.status.error_message();
    }
    ASSERT_EQ(w.events.size() >= count, true);
    // Live updates (what agents and the merge stages do) come along, without a seq.
    for (const auto& e : w.events) (e.live() ? live : seen).push_back(e);
    if (!seen.empty()) last = seen.back().seq();
  }
  ASSERT_FALSE(live.empty()) << "the Watch of a served run carries its live updates";
  for (const auto& e : live) {
    EXPECT_EQ(e.seq(), 0u);
    EXPECT_EQ(e.run_id(), reply.run_id());
    EXPECT_TRUE(e.has_agent_activity() || e.has_queue_testing()) << e.DebugString();
  }
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.back().has_run_finished());
  EXPECT_EQ(seen.back().run_finished().exit_code(), 0);
  // What the client left unset ran with the command line's defaults, stored as such.
  ASSERT_TRUE(seen.front().has_run_started());
  const v1::RunSpec& ran = seen.front().run_started().spec();
  EXPECT_EQ(ran.lease_timeout_s(), 30);
  EXPECT_EQ(ran.max_rebases(), 2);
  EXPECT_EQ(ran.memory_bytes(), 4ull << 30) << "a limit left unset is the default, not unlimited";
  EXPECT_EQ(ran.base_rev().size(), 40u) << "HEAD, resolved";

  // Exactly the stored log: every event once, in order, the same bytes.
  auto store = Store::Open(state() + "/swarm.db");
  ASSERT_TRUE(store.ok()) << store.status();
  auto log = (*store)->Events(reply.run_id());
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(seen.size(), log->size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].seq(), i + 1);
    EXPECT_EQ(seen[i].SerializeAsString(), (*log)[i].SerializeAsString()) << "event " << i + 1;
  }
  // Reconnecting after the end: nothing more, and the stream ends.
  Watched after = WatchSome(server, reply.run_id(), last, 0);
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_TRUE(after.events.empty());
  // `swarm watch` from a sequence number, through the server and from the store, prints the same.
  for (std::vector<std::string> where : {std::vector<std::string>{"--server", server.address()},
                                         std::vector<std::string>{"--state-dir", state()}}) {
    std::vector<std::string> args = {"watch", reply.run_id(), "--from", std::to_string(last - 2)};
    args.insert(args.end(), where.begin(), where.end());
    CliResult r = RunSwarm(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("#" + std::to_string(last - 2) + " "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("#" + std::to_string(last - 1) + " "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("#" + std::to_string(last) + " run completed"), std::string::npos) << r.out;
  }
  EXPECT_EQ(Show(repo, Branch(repo) + ":d.txt"), "d");
}

TEST_F(ControlTest, TwoRunsSubmittedAtOnceOnTwoRepositoriesBothLand) {
  std::string one = MakeRepo("one", {{"x1.txt", "one\n"}, {"x2.txt", "two\n"}});
  std::string two = MakeRepo("two", {{"y1.txt", "alpha\n"}, {"y2.txt", "beta\n"}, {"y3.txt", "gamma\n"}});
  ServeProcess server(state(), socket(), allow());
  std::string upper = "for f in $SWARM_FILES; do tr a-z A-Z < $f > $f.tmp && mv $f.tmp $f; done; sleep 0.3";
  CliResult r1, r2;
  {
    auto run = [&](const std::string& repo, CliResult& out) {
      out = RunSwarm({"run", "--server", server.address(), "--repo", repo, "--shard", "*.txt", "--parts", "2",
                      "--independent", "--agents", "2", "--agent-cmd", upper, "--test-cmd", "true"});
    };
    std::jthread a([&] { run(one, r1); });
    std::jthread b([&] { run(two, r2); });
  }
  ASSERT_EQ(r1.exit_code, 0) << r1.out << r1.err;
  ASSERT_EQ(r2.exit_code, 0) << r2.out << r2.err;
  EXPECT_NE(r1.out.find("run completed"), std::string::npos) << r1.out;
  EXPECT_EQ(Show(one, Branch(one) + ":x1.txt"), "ONE");
  EXPECT_EQ(Show(one, Branch(one) + ":x2.txt"), "TWO");
  EXPECT_EQ(Show(two, Branch(two) + ":y1.txt"), "ALPHA");
  EXPECT_EQ(Show(two, Branch(two) + ":y3.txt"), "GAMMA");
  // Both runs are in the server's state directory.
  CliResult runs = RunSwarm({"runs", "--state-dir", state()});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  for (const std::string& branch : {Branch(one), Branch(two)}) {
    std::string id = branch.substr(branch.find('/') + 1);
    EXPECT_NE(runs.out.find(id + "  completed"), std::string::npos) << runs.out;
  }
}

// Waits (up to a minute) for an event of the only run in `state` for which `match` is true.
std::optional<v1::Event> WaitForEvent(const std::string& state, const std::function<bool(const v1::Event&)>& match) {
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto store = Store::Open(state + "/swarm.db");
    if (!store.ok()) continue;
    auto runs = (*store)->Runs();
    if (!runs.ok() || runs->empty()) continue;
    auto events = (*store)->Events(runs->front().id);
    if (!events.ok()) continue;
    for (const auto& e : *events) {
      if (match(e)) return e;
    }
  }
  return std::nullopt;
}

// Processes whose command line starts with `prefix` (the agent commands' own `sleep MARKER`, not the
// shells and clients that carry it as an argument).
int ProcessesStartingWith(const std::string& prefix) {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    // read(2), not a stream: a process that exits mid-read fails the read (ESRCH), which libstdc++'s
    // filebuf would throw.
    std::string cmdline;
    const int fd = open((entry.path() / "cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[4096];
    for (ssize_t got; (got = read(fd, buf, sizeof buf)) > 0;) cmdline.append(buf, static_cast<size_t>(got));
    close(fd);
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    n += cmdline.rfind(prefix, 0) == 0;
  }
  return n;
}

// Waits up to `tries` × 50 ms for `done`.
bool Eventually(const std::function<bool()>& done, int tries = 100) {
  for (int i = 0; i < tries; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

TEST_F(ControlTest, CancelDuringAServedRunKeepsWhatLandedAndStopsTheAgents) {
  std::string repo = MakeRepo("repo", {{"f1.txt", "x\n"}, {"f2.txt", "x\n"}, {"f3.txt", "x\n"}});
  std::string base = Trim(Sh("git -C " + repo + " rev-parse HEAD"));
  ServeProcess server(state(), socket(), allow());
  std::string marker = "117." + std::to_string(getpid());
  std::string agent = "case $SWARM_SUBTASK_ID in shard-1) echo done >> f1.txt;; *) sleep " + marker + ";; esac";
  CliResult client;
  std::jthread runner([&] {
    client = RunSwarm({"run", "--server", server.address(), "--repo", repo, "--shard", "*.txt", "--parts", "3",
                       "--independent", "--agents", "3", "--heartbeat-interval", "1", "--lease-timeout", "3",
                       "--agent-cmd", agent, "--test-cmd", "true"});
  });
  // At a known state: shard-1 landed, the other two agents blocked in their command.
  auto landed = WaitForEvent(state(), [](const v1::Event& e) { return e.has_landed(); });
  ASSERT_TRUE(landed.has_value()) << "shard-1 never landed";
  std::string sleeper = "sleep " + marker;
  ASSERT_TRUE(Eventually([&] { return ProcessesStartingWith(sleeper) == 2; })) << "the blocking agents are not running";
  std::string run_id = landed->run_id();
  ASSERT_TRUE(CancelOnServer({server.address()}, run_id, "the test cancels it").ok());
  runner.join();

  EXPECT_EQ(client.exit_code, 5) << client.out << client.err;
  EXPECT_NE(client.out.find("run cancelled"), std::string::npos) << client.out;
  auto stub = server.Stub();
  grpc::ClientContext context;
  v1::GetRequest get;
  get.set_run_id(run_id);
  v1::RunStatus status;
  ASSERT_TRUE(stub->Get(&context, get, &status).ok());
  EXPECT_EQ(status.state(), "cancelled");
  EXPECT_TRUE(status.finished());
  EXPECT_EQ(status.exit_code(), 5);
  EXPECT_EQ(status.subtasks().at("landed"), 1u);
  EXPECT_EQ(status.subtasks().at("cancelled"), 2u);
  EXPECT_EQ(Show(repo, Branch(repo) + ":f1.txt"), "x\ndone");
  // The run ended only once its hosts had exited; their sandboxes go with them within a heartbeat.
  EXPECT_TRUE(Eventually([&] { return ProcessesStartingWith(sleeper) == 0; }, 20))
      << "an agent command outlived the cancelled run";
  // A second cancel is refused: the run has ended.
  absl::Status again = CancelOnServer({server.address()}, run_id, "again");
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
}

TEST_F(ControlTest, ServeCancelsItsLiveRunsOnSigtermWaitsForThemAndExitsZero) {
  std::string repo = MakeRepo("repo", {{"a.txt", "a\n"}});
  auto server = std::make_unique<ServeProcess>(state(), socket(), allow());
  std::string sleeper = "sleep 118." + std::to_string(getpid());
  grpc::ClientContext context;
  v1::SubmitRequest submit;
  *submit.mutable_spec() =
      PlanSpec(repo, R"({"subtasks": [{"id": "a", "title": "A", "instructions": ""}]})", sleeper);
  submit.mutable_spec()->set_heartbeat_interval_s(1);
  v1::SubmitReply reply;
  ASSERT_TRUE(server->Stub()->Submit(&context, submit, &reply).ok());
  ASSERT_TRUE(Eventually([&] { return ProcessesStartingWith(sleeper) == 1; })) << "the agent is not running";
  std::string said = server->Stop();  // exits 0
  EXPECT_NE(said.find("cancelling the live runs"), std::string::npos) << said;
  auto store = Store::Open(state() + "/swarm.db");
  ASSERT_TRUE(store.ok());
  auto last = (*store)->LastEvent(reply.run_id());
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->run_finished().state(), "cancelled") << last->DebugString();
  EXPECT_EQ(last->run_finished().exit_code(), 5);
  EXPECT_TRUE(Eventually([&] { return ProcessesStartingWith(sleeper) == 0; }, 20)) << "the agent outlived the server";
  EXPECT_FALSE(fs::exists(socket())) << "the socket was left behind";
}

TEST_F(ControlTest, BadRequestsGetStatusCodesThatNameWhatWasWrong) {
  std::string repo = MakeRepo("repo", {{"a.txt", "a\n"}});
  ServeProcess server(state(), socket(), allow());
  auto stub = server.Stub();
  auto submit = [&](const v1::RunSpec& spec) {
    grpc::ClientContext context;
    v1::SubmitRequest request;
    *request.mutable_spec() = spec;
    v1::SubmitReply reply;
    return stub->Submit(&context, request, &reply);
  };
  // PrepareRun's message comes back as it is.
  grpc::Status bad_plan = submit(PlanSpec(repo, R"({"subtasks": [{"id": "a"}]})", "true"));
  EXPECT_EQ(bad_plan.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_plan.error_message().find("title"), std::string::npos) << bad_plan.error_message();
  grpc::Status relative = submit(PlanSpec("repo", R"({"subtasks": []})", "true"));
  EXPECT_EQ(relative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(relative.error_message().find("absolute"), std::string::npos) << relative.error_message();
  // A setting given out of range is named by its field, not by a flag the client never saw; 0 set on
  // purpose is 0, not the default.
  const std::string plan = R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]}]})";
  v1::RunSpec no_agents = PlanSpec(repo, plan, "true");
  no_agents.set_agents(0);
  grpc::Status zero = submit(no_agents);
  EXPECT_EQ(zero.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(zero.error_message(), "agents must be between 1 and 1000000, not 0");
  v1::RunSpec short_lease = PlanSpec(repo, plan, "true");
  short_lease.set_lease_timeout_s(5);
  grpc::Status lease = submit(short_lease);
  EXPECT_EQ(lease.error_message(), "lease_timeout_s must be longer than heartbeat_interval_s");
  v1::RunSpec no_test = PlanSpec(repo, plan, "true");
  no_test.clear_test_command();
  EXPECT_EQ(submit(no_test).error_message(), "test_command is required: the command that gates every patch");

  grpc::ClientContext get_context;
  v1::GetRequest get;
  get.set_run_id("no-such-run");
  v1::RunStatus status;
  grpc::Status unknown = stub->Get(&get_context, get, &status);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no-such-run"), std::string::npos) << unknown.error_message();
  Watched w = WatchSome(server, "no-such-run", 0, 0);
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::NOT_FOUND) << w.status.error_message();
  EXPECT_TRUE(absl::IsNotFound(CancelOnServer({server.address()}, "no-such-run", "")));

  CliResult watch = RunSwarm({"watch", "no-such-run", "--server", server.address()});
  EXPECT_EQ(watch.exit_code, 2) << watch.out << watch.err;
  EXPECT_NE(watch.err.find("no run no-such-run"), std::string::npos) << watch.err;
}

TEST_F(ControlTest, BadCommandLinesExitWithUsageOrEnvironmentErrors) {
  CliResult listen = RunSwarm({"serve", "--state-dir", state(), "--listen", "0.0.0.0:0"});
  EXPECT_EQ(listen.exit_code, 2) << listen.out << listen.err;
  EXPECT_NE(listen.err.find("loopback"), std::string::npos) << listen.err;
  EXPECT_NE(listen.err.find("TLS"), std::string::npos) << listen.err;

  std::string long_socket = dir_ / (std::string(120, 's') + ".sock");
  CliResult too_long = RunSwarm({"serve", "--state-dir", state(), "--socket", long_socket});
  EXPECT_EQ(too_long.exit_code, 2) << too_long.out << too_long.err;
  EXPECT_NE(too_long.err.find(long_socket), std::string::npos) << too_long.err;
  EXPECT_NE(too_long.err.find("--socket"), std::string::npos) << too_long.err;

  std::string repo = MakeRepo("repo", {{"a.txt", "a\n"}});
  CliResult unreachable = RunSwarm({"run", "--server", "unix:/nonexistent/x.sock", "--repo", repo, "--shard",
                                    "*.txt", "--parts", "1", "--agent-cmd", "true", "--test-cmd", "true"});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.out << unreachable.err;
  EXPECT_NE(unreachable.err.find("unix:/nonexistent/x.sock"), std::string::npos) << unreachable.err;
  // The same address from the environment.
  CliResult from_env = RunSwarm({"watch", "some-run"}, {"SWARM_SERVER=unix:/nonexistent/x.sock"});
  EXPECT_EQ(from_env.exit_code, 3) << from_env.out << from_env.err;

  CliResult watch = RunSwarm({"watch", "no-such-run", "--state-dir", state()});
  EXPECT_EQ(watch.exit_code, 2) << watch.out << watch.err;
  EXPECT_NE(watch.err.find("no-such-run"), std::string::npos) << watch.err;
}

}  // namespace
}  // namespace swarm::testing
