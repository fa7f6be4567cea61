// A run with a model, end to end: the real swarm binary, its agent hosts, the sandbox, the scripted
// model server. A program speaking the Agent API (this test) asks the coordinator for completions
// under a live lease; the key stays in the coordinator; spending is stored and shown; a run that
// runs out of budget stops with exit status 4; bad model settings are refused before anything starts.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>
#include <nlohmann/json.hpp>

#include "models/scripted/scripted_model_server.h"
#include "orchestrator/store/store.h"
#include "swarm/v1/agent.grpc.pb.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr char kKey[] = "sk-swarm-test-93ac51e0d2";

class ModelRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/README", "hello\n");
    CommitAll(repo(), "initial");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }

  // A user config naming a provider served by `server`, with the key in SWARM_TEST_MODEL_KEY.
  std::vector<std::string> Env(const ScriptedModelServer& server) {
    fs::create_directories(dir_ / "config/swarm");
    WriteFile(dir_ / "config/swarm/models.toml", "[providers.test]\nbase_url = \"" + server.base_url() +
                                                     "\"\nkey_env = \"SWARM_TEST_MODEL_KEY\"\nany_model = true\n"
                                                     "retry_base_ms = 50\nconversation_header = true\n[providers.test.defaults]\n"
                                                     "context_window = 100000\nmax_output_tokens = 1000\n"
                                                     "input_usd_per_mtok = 2.0\noutput_usd_per_mtok = 8.0\n");
    return {"XDG_CONFIG_HOME=" + dir_.path() + "/config", std::string("SWARM_TEST_MODEL_KEY=") + kKey};
  }

  // Calls Complete on the run's Agent API socket as an agent holding `lease`.
  grpc::Status Complete(const v1::SubtaskLeased& lease, std::uint64_t fence, v1::CompleteReply* reply) {
    std::string runtime = Trim(ReadFile(RunDir() + "/runtime-dir"));
    auto channel = grpc::CreateChannel("unix:" + runtime + "/agent.sock", grpc::InsecureChannelCredentials());
    auto stub = v1::AgentService::NewStub(channel);
    v1::CompleteRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_fence(fence);
    auto* m = request.mutable_request()->add_messages();
    m->set_role("user");
    m->set_content("What should I change?");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->Complete(&context, request, reply);
  }

  std::string RunDir() {
    for (const auto& e : fs::directory_iterator(state() + "/runs")) return e.path().string();
    return "";
  }

  v1::SubtaskLeased WaitForLease(const std::string& subtask) {
    auto e = WaitForEvent(state(), [&](const v1::Event& e) {
      return e.has_subtask_leased() && e.subtask_leased().subtask_id() == subtask;
    });
    EXPECT_TRUE(e.has_value());
    return e ? e->subtask_leased() : v1::SubtaskLeased();
  }

  TempDir dir_;
};

// Every file under `root` that contains `needle`.
std::vector<std::string> FilesContaining(const std::string& root, const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && ReadFile(it->path().string()).find(needle) != std::string::npos) {
      found.push_back(it->path().string());
    }
  }
  return found;
}

TEST_F(ModelRunTest, AnAgentAsksTheCoordinatorAndTheKeyStaysThere) {
  auto server = ScriptedModelServer::Start(json({{"api_key", kKey},
                                                 {"conversations",
                                                  {{"s1", {{{"content", "Add a line to README."},
                                                            {"usage", {{"input", 1000}, {"cached", 0}, {"output", 100}}}}}}}}})
                                               .dump());
  ASSERT_TRUE(server.ok()) << server.status();
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "s1", "title": "edit README", "instructions": "probe"}]})");
  // The agent looks for the key everywhere it can: its environment, every process's environment and
  // command line, and the files it can read; then waits so that the test can make its call.
  // The key is written in two halves so that the probe itself does not hold it.
  const std::string key(kKey);
  const std::string k1 = key.substr(0, 10), k2 = key.substr(10);
  WriteFile(dir_ / "probe.sh",
            "k1=" + k1 + "; k2=" + k2 + "\n"
            "look() {\n"
            "  all=$(env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'\n"
            "    for f in $(grep -rls \"$k2\" /tmp /run /home /root \"$HOME\" . 2>/dev/null | grep -v probe.sh); do cat \"$f\"; done)\n"
            "  case \"$all\" in *\"$k1$k2\"*) echo 'key seen' ;; *) echo 'key not seen' ;; esac\n"
            "}\n"
            // The probe must be able to find a key: one planted in a file is found.
            "mkdir -p /tmp/planted && echo \"$k1$k2\" > /tmp/planted/x && look > control.txt && rm -r /tmp/planted\n"
            "look > probe.txt\n"
            "sleep 4\n");
  auto run = std::async(std::launch::async, [&] {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents", "1",
                     "--model", "test:m", "--budget-usd", "1", "--sandbox-ro-bind", dir_ / "probe.sh", "--agent-cmd",
                     "sh " + dir_ / "probe.sh", "--test-cmd", "true"},
                    Env(**server));
  });
  v1::SubtaskLeased lease = WaitForLease("s1");
  int host = HostPidHoldingLease(state(), "s1");
  ASSERT_GT(host, 0);
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(host) + "/environ").find(kKey), std::string::npos)
      << "the agent host's environment has the key";

  v1::CompleteReply reply;
  grpc::Status stale = Complete(lease, lease.fence() + 1, &reply);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << stale.error_message();
  grpc::Status status = Complete(lease, lease.fence(), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.reply().message().content(), "Add a line to README.");
  EXPECT_NEAR(reply.reply().cost_usd(), (1000 * 2.0 + 100 * 8.0) / 1e6, 1e-12);

  CliResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE((*server)->unexpected().empty());
  std::string probe = Sh("git -C " + repo() + " show swarm/$(ls " + state() + "/runs):probe.txt");
  EXPECT_EQ(Trim(probe), "key not seen");
  EXPECT_EQ(Trim(Sh("git -C " + repo() + " show swarm/$(ls " + state() + "/runs):control.txt")), "key seen");

  std::string run_id = fs::path(RunDir()).filename();
  CliResult show = RunSwarm({"show", run_id, "--state-dir", state()});
  EXPECT_NE(show.out.find("1 calls, 1000 tokens in (0 cached), 100 out, $0.0028"), std::string::npos) << show.out;
  CliResult transcript = RunSwarm({"show", run_id, "--state-dir", state(), "--transcript", "s1"});
  EXPECT_NE(transcript.out.find("What should I change?"), std::string::npos) << transcript.out;
  EXPECT_NE(transcript.out.find("Add a line to README."), std::string::npos) << transcript.out;
  EXPECT_EQ(transcript.out.find(kKey), std::string::npos);
  EXPECT_EQ(show.out.find(kKey), std::string::npos);
  // Not in the store (database, WAL), the logs, the reports: nothing under the state directory.
  EXPECT_EQ(FilesContaining(state(), kKey), std::vector<std::string>{});
  EXPECT_EQ(r.out.find(kKey) + r.err.find(kKey), 2 * std::string::npos);
}

TEST_F(ModelRunTest, ACommandAgentCallsTheModelThroughItsSandboxedEndpoint) {
  auto server = ScriptedModelServer::Start(
      json({{"api_key", kKey},
            {"conversations",
             {{"a", {{{"expect", "new greeting"}, {"content", "Hello, swarm!"}, {"usage", {{"input", 40}, {"output", 5}}}}}},
              {"b", {{{"expect", "new greeting"},
                      {"tool_calls", {{{"name", "write_file"}, {"arguments", {{"path", "GREETING"}}}}}},
                      {"usage", {{"input", 40}, {"output", 9}}}}}}}}})
          .dump());
  ASSERT_TRUE(server.ok());
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "a", "title": "a", "instructions": "a"},
                                                  {"id": "b", "title": "b", "instructions": "b"}]})");
  // a asks without streaming, b with: each gets its own conversation's answer, as OpenAI JSON.
  const std::string ask =
      "stream=false; [ \"$SWARM_SUBTASK_ID\" = b ] && stream=true; "
      "curl -sS --unix-socket \"$SWARM_MODEL_SOCKET\" \"$SWARM_MODEL_URL/chat/completions\" "
      "-H 'content-type: application/json' "
      "-d \"{\\\"stream\\\": $stream, \\\"messages\\\": [{\\\"role\\\": \\\"user\\\", "
      "\\\"content\\\": \\\"What is the new greeting?\\\"}]}\" > answer.$SWARM_SUBTASK_ID.txt && "
      "echo \"$SWARM_MODEL\" > model.$SWARM_SUBTASK_ID.txt";
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents", "2",
                          "--model", "test:m", "--agent-cmd", ask, "--test-cmd", "true"},
                         Env(**server));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE((*server)->unexpected().empty()) << (*server)->unexpected()[0];
  const std::string branch = "swarm/" + fs::path(RunDir()).filename().string();
  json a = json::parse(Sh("git -C " + repo() + " show " + branch + ":answer.a.txt"));
  EXPECT_EQ(a["choices"][0]["message"]["content"], "Hello, swarm!") << a.dump();
  EXPECT_EQ(a["usage"]["prompt_tokens"], 40);
  std::string b = Sh("git -C " + repo() + " show " + branch + ":answer.b.txt");
  EXPECT_NE(b.find("data: [DONE]"), std::string::npos) << b;
  EXPECT_NE(b.find("\"name\":\"write_file\""), std::string::npos) << b;
  EXPECT_EQ(Trim(Sh("git -C " + repo() + " show " + branch + ":model.a.txt")), "test:m");
  CliResult show = RunSwarm({"show", fs::path(RunDir()).filename().string(), "--state-dir", state()});
  EXPECT_NE(show.out.find("model: 1 calls, 40 tokens in (0 cached), 5 out"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("model   2 calls, 80 tokens in"), std::string::npos) << show.out;
}

// With no concurrency in any file, the run lets one call per agent be in flight (it used to be 8,
// whatever --agents said); a file that caps it far below the fleet gets a warning.
TEST_F(ModelRunTest, TheModelConcurrencyFollowsTheAgentsAndACapFarBelowThemIsWarnedAbout) {
  constexpr int kAgents = 12;
  json conversations = json::object();
  json subtasks = json::array();
  for (int i = 0; i < kAgents; ++i) {
    const std::string id = "s" + std::to_string(i);
    conversations[id] = {{{"content", "ok"}, {"delay_ms", 3000}, {"usage", {{"input", 10}, {"output", 1}}}}};
    subtasks.push_back({{"id", id}, {"title", id}, {"instructions", id}});
  }
  auto server = ScriptedModelServer::Start(json({{"api_key", kKey}, {"conversations", conversations}}).dump());
  ASSERT_TRUE(server.ok());
  WriteFile(dir_ / "plan.json", json({{"subtasks", subtasks}}).dump());
  const std::string ask =
      "curl -sS --unix-socket \"$SWARM_MODEL_SOCKET\" \"$SWARM_MODEL_URL/chat/completions\" "
      "-H 'content-type: application/json' -d '{\"messages\": [{\"role\": \"user\", \"content\": \"go\"}]}' "
      "> answer.$SWARM_SUBTASK_ID.txt";
  std::vector<std::string> env = Env(**server);
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents",
                          std::to_string(kAgents), "--model", "test:m", "--agent-cmd", ask, "--test-cmd", "true"},
                         env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GT((*server)->max_concurrent(), 8) << "the calls were held to the old default of 8";
  json report = json::parse(ReadFile(RunDir() + "/report.json"));
  EXPECT_EQ(report["model"]["concurrency"]["limit"], kAgents) << report.dump();
  EXPECT_GT(report["model"]["concurrency"]["peak_in_flight"].get<int>(), 8) << report.dump();
  EXPECT_TRUE(report["model"].contains("limiter_wait_s")) << report.dump();
  EXPECT_EQ(r.err.find("under a tenth"), std::string::npos) << r.err;

  std::string config = ReadFile(dir_ / "config/swarm/models.toml");
  config.replace(config.find("any_model"), 0, "concurrency = 1\n");
  WriteFile(dir_ / "config/swarm/models.toml", config);
  CliResult capped = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                               "--agents", "100", "--model", "test:m", "--agent-cmd", ask, "--test-cmd", "true", "--dry-run"},
                              env);
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  EXPECT_NE(capped.err.find("the model allows 1 requests in flight (concurrency in " + dir_.path() +
                            "/config/swarm/models.toml), under a tenth of --agents 100"),
            std::string::npos)
      << capped.err;
}

// An attempt's requests repeat each other and grow: stored as chunks once per run, the store holds
// about what the conversation added, and each request comes back byte for byte as the server got it.
TEST_F(ModelRunTest, EveryRequestIsRebuiltByteForByteFromChunksStoredOnce) {
  std::string big;
  for (int i = 0; i < 400; ++i) big += "line " + std::to_string(i) + " of a file the agent reads again and again\n";
  WriteFile(repo() + "/big.txt", big);
  CommitAll(repo(), "big");
  json steps = json::array();
  for (int i = 0; i < 11; ++i) {
    steps.push_back({{"tool_calls", {{{"name", "read_file"}, {"arguments", {{"path", "big.txt"}}}}}},
                     {"usage", {{"input", 100}, {"output", 10}}}});
  }
  steps.push_back({{"tool_calls", {{{"name", "submit"}, {"arguments", {{"summary", "read it"}}}}}},
                   {"usage", {{"input", 100}, {"output", 10}}}});
  auto server = ScriptedModelServer::Start(json({{"api_key", kKey}, {"conversations", {{"s1", steps}}}}).dump());
  ASSERT_TRUE(server.ok());
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "s1", "title": "read", "instructions": "read big.txt"}]})");
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents", "1",
                          "--model", "test:m", "--test-cmd", "true"},
                         Env(**server));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> sent;
  std::size_t sent_bytes = 0;
  for (const auto& req : (*server)->requests()) {
    if (req.conversation != "s1") continue;
    sent.push_back(req.body);
    sent_bytes += req.body.size();
  }
  ASSERT_EQ(sent.size(), 12u);

  const std::string run_id = fs::path(RunDir()).filename();
  auto store = Store::Open(state() + "/swarm.db");
  ASSERT_TRUE(store.ok()) << store.status();
  auto calls = (*store)->ModelCalls(run_id, "s1");
  ASSERT_TRUE(calls.ok()) << calls.status();
  ASSERT_EQ(calls->size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE((*calls)[i].request == sent[i]) << "request " << i + 1;
  const std::string stored = Trim(Sh("sqlite3 " + state() + "/swarm.db \"SELECT (SELECT SUM(LENGTH(data)) FROM chunks) + "
                                     "(SELECT SUM(LENGTH(request) + LENGTH(request_chunks)) FROM model_calls)\""));
  // The conversation's requests sum to about 12 times the last one's size; stored once, they cost
  // little more than the last one.
  EXPECT_LT(std::stoul(stored) * 4, sent_bytes) << stored << " bytes stored for " << sent_bytes << " sent";
  EXPECT_LT(std::stoul(stored), sent.back().size() * 2) << stored << " bytes stored; the last request is "
                                                          << sent.back().size();
}

TEST_F(ModelRunTest, ARunStopsOnItsBudgetWithExitStatus4) {
  auto server = ScriptedModelServer::Start(
      json({{"conversations", {{"s1", {{{"content", "ok"}, {"usage", {{"input", 100}, {"output", 1000}}}}}}}}}).dump());
  ASSERT_TRUE(server.ok());
  WriteFile(dir_ / "plan.json",
            R"({"subtasks": [{"id": "s1", "title": "first", "instructions": "a"}, {"id": "s2", "title": "second", "instructions": "b", "depends_on": ["s1"]}]})");
  // Worst case of one call: about (bytes * $2 + 1000 * $8) / 1e6 = $0.0085; the budget fits one.
  auto run = std::async(std::launch::async, [&] {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents", "1",
                     "--model", "test:m", "--budget-usd", "0.012", "--agent-cmd", "echo x >> README; sleep 3",
                     "--test-cmd", "true"},
                    Env(**server));
  });
  v1::SubtaskLeased lease = WaitForLease("s1");
  v1::CompleteReply reply;
  ASSERT_TRUE(Complete(lease, lease.fence(), &reply).ok());
  grpc::Status refused = Complete(lease, lease.fence(), &reply);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("budget"), std::string::npos);
  CliResult r = run.get();
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("stopping on the budget"), std::string::npos) << r.err;
  EXPECT_EQ((*server)->requests().size(), 1u) << "no call past the budget reached the server";
  json report = OnlyReport(state());
  EXPECT_EQ(report["state"], "budget");
  EXPECT_EQ(report["model"]["calls"], 2) << "the refused call is recorded, at no cost";
  EXPECT_GT(report["model"]["cost_usd"].get<double>(), 0.0);
  EXPECT_LE(report["model"]["cost_usd"].get<double>(), 0.012);
  auto outcomes = Outcomes(report);
  EXPECT_EQ(outcomes["s1"], "landed") << report.dump(2);
  EXPECT_NE(outcomes["s2"], "landed");
  const std::string run_id = fs::path(RunDir()).filename();
  EXPECT_NE(RunSwarm({"runs", "--state-dir", state()}).out.find("budget"), std::string::npos);

  // A larger budget lets it go on where it stopped.
  CliResult lower = RunSwarm({"resume", run_id, "--state-dir", state(), "--budget-usd", "0.001"}, Env(**server));
  EXPECT_EQ(lower.exit_code, 2) << lower.err;
  CliResult resumed = RunSwarm({"resume", run_id, "--state-dir", state(), "--budget-usd", "1"}, Env(**server));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Outcomes(OnlyReport(state()))["s2"], "landed");
}

TEST_F(ModelRunTest, ACancelWhileAModelCallHangsEndsTheRunAndRecordsTheCall) {
  auto server = ScriptedModelServer::Start(json({{"conversations", {{"s1", {{{"fault", "stall"}}}}}}}).dump());
  ASSERT_TRUE(server.ok());
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "s1", "title": "t", "instructions": "t"}]})");
  // The agent asks the model and waits for it; the model never answers.
  const std::string ask =
      "curl -sS --unix-socket \"$SWARM_MODEL_SOCKET\" \"$SWARM_MODEL_URL/chat/completions\" "
      "-d '{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}'";
  auto run = std::async(std::launch::async, [&] {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--model", "test:m",
                     "--budget-usd", "1", "--agent-cmd", ask, "--test-cmd", "true"},
                    Env(**server));
  });
  WaitForLease("s1");
  for (int i = 0; i < 200 && (*server)->requests().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ((*server)->requests().size(), 1u);
  const auto start = std::chrono::steady_clock::now();
  CliResult cancel = RunSwarm({"cancel", fs::path(RunDir()).filename().string(), "--state-dir", state()});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  CliResult r = run.get();
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << "nothing waits for the stalled call";
  CliResult show = RunSwarm({"show", fs::path(RunDir()).filename().string(), "--state-dir", state()});
  EXPECT_NE(show.out.find("model   1 calls (1 failed)"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("$0.0000\n"), std::string::npos) << "an abandoned call is charged its reservation\n" << show.out;
}

TEST_F(ModelRunTest, ModelsCheckPrintsTheToolCallTokensAndCost) {
  auto server = ScriptedModelServer::Start(
      json({{"api_key", kKey},
            {"conversations",
             {{"check", {{{"content", "Calling it."},
                          {"tool_calls", {{{"name", "report_status"}, {"arguments", {{"status", "ok"}}}}}},
                          {"usage", {{"input", 200}, {"cached", 150}, {"output", 20}}}}}}}}})
          .dump());
  ASSERT_TRUE(server.ok());
  CliResult r = RunSwarm({"models", "check", "test:m", "--repo", repo()}, Env(**server));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("tool call: report_status {\"status\":\"ok\"}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokens:    200 in (150 cached), 20 out"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cost:      $0.000260"), std::string::npos) << r.out;  // 50*2 + 150*2 (no cached price) + 20*8
  CliResult list = RunSwarm({"models", "--repo", repo()}, Env(**server));
  EXPECT_NE(list.out.find("SWARM_TEST_MODEL_KEY (set)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("deepseek-chat"), std::string::npos);
}

TEST_F(ModelRunTest, BadModelSettingsAreRefusedBeforeAnythingStarts) {
  auto server = ScriptedModelServer::Start(json({{"default", {{"content", "x"}}}}).dump());
  ASSERT_TRUE(server.ok());
  std::vector<std::string> env = Env(**server);
  WriteFile(dir_ / "bad-script.json", R"({"conversations": {"s": [{"fault": "explode"}]}})");
  const std::string before = UserVisibleState(repo());
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "s1", "title": "t", "instructions": "t"}]})");
  auto run = [&](std::vector<std::string> extra, std::vector<std::string> run_env) {
    std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                                     "--agent-cmd", "true", "--test-cmd", "true"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSwarm(args, run_env);
  };
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--model", "nope:m"}, "unknown provider \"nope\""},
      {{"--model", "deepseek:no-such-model"}, "unknown model \"no-such-model\""},
      {{"--model", "test:m", "--base-url", "localhost:8000"}, "must start with http:// or https://"},
      {{"--model", "test:m", "--budget-usd", "lots"}, "--budget-usd must be a positive number"},
      {{"--model", "test:m", "--budget-usd", "-3"}, "--budget-usd must be a positive number"},
      {{"--model", "test:m", "--budget-usd", "0"}, "--budget-usd must be a positive number"},
      {{"--budget-usd", "5"}, "--budget-usd goes with --model"},
      {{"--model", "scripted:/nonexistent/script.json"}, "cannot read the model script"},
      {{"--model", "scripted:" + dir_ / "bad-script.json"}, "bad-script.json"},
      {{"--model", "test:m", "--sandbox-env", "SWARM_TEST_MODEL_KEY"}, "stays in the coordinator"},
  };
  for (const Case& c : cases) {
    CliResult r = run(c.args, env);
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // A missing key is something this machine lacks, not a wrong command line.
  CliResult no_key = run({"--model", "moonshot:kimi-k2-0905-preview"}, env);
  EXPECT_EQ(no_key.exit_code, 3) << no_key.err;
  EXPECT_NE(no_key.err.find("MOONSHOT_API_KEY"), std::string::npos) << no_key.err;
  // An unreadable ca_file, set in the user's file.
  std::string config = ReadFile(dir_ / "config/swarm/models.toml");
  config.insert(config.find("any_model"), "ca_file = \"/nonexistent/ca.pem\"\n");
  WriteFile(dir_ / "config/swarm/models.toml", config);
  CliResult ca = run({"--model", "test:m"}, env);
  EXPECT_EQ(ca.exit_code, 2) << ca.err;
  EXPECT_NE(ca.err.find("/nonexistent/ca.pem"), std::string::npos) << ca.err;
  EXPECT_EQ(UserVisibleState(repo()), before);
  EXPECT_FALSE(fs::exists(state() + "/runs")) << "nothing started";
  EXPECT_TRUE((*server)->requests().empty());
}

}  // namespace
}  // namespace swarm::testing
