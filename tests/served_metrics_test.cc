// Prometheus metrics end to end: a real `swarm serve --http`, a served run whose agents call a model
// (the scripted model server, over the real provider protocol), scraped over real HTTP while it runs
// and after it ends; every scrape passes `promtool check metrics` (Debian's prometheus package), and
// at the end the counters agree with the run's report.json.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "models/scripted/scripted_model_server.h"
#include "swarm/v1/control.grpc.pb.h"
#include "testing/serve_process.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr char kKey[] = "sk-swarm-metrics-test-5d1e";
constexpr int kSubtasks = 6;

// A port nobody listens on now (bound to 0 and closed): the server is told it up front.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// One scrape: every sample by its series (name{labels}), and promtool's verdict on the text.
struct Scrape {
  std::string text;
  std::map<std::string, double> samples;
  double operator[](const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? 0 : it->second;
  }
  // The sum over every series of `name` (any labels).
  double Sum(const std::string& name) const {
    double sum = 0;
    for (const auto& [series, v] : samples) {
      if (series == name || series.rfind(name + "{", 0) == 0) sum += v;
    }
    return sum;
  }
};

Scrape ScrapeMetrics(const TempDir& dir, int port) {
  Scrape s;
  s.text = Sh("curl -sS --fail http://127.0.0.1:" + std::to_string(port) + "/metrics");
  for (absl::string_view line : absl::StrSplit(s.text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &v)) << line;
    s.samples[std::string(line.substr(0, space))] = v;
  }
  WriteFile(dir / "scrape.txt", s.text);
  std::string verdict;
  EXPECT_EQ(ShStatus("promtool check metrics < " + dir / "scrape.txt", &verdict), 0) << verdict << s.text;
  return s;
}

v1::RunStatus Status(const ServeProcess& server, const std::string& run_id) {
  grpc::ClientContext context;
  v1::GetRequest get;
  get.set_run_id(run_id);
  v1::RunStatus status;
  grpc::Status st = server.Stub()->Get(&context, get, &status);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return status;
}

TEST(ServedMetricsTest, AServedRunsMetricsPassPromtoolWhileItRunsAndMatchItsReportAtTheEnd) {
  TempDir dir;
  const std::string repo = dir / "repo";
  InitRepo(repo);
  WriteFile(repo + "/README", "hello\n");
  CommitAll(repo, "initial");

  json conversations = json::object();
  json plan = json::array();
  for (int i = 0; i < kSubtasks; ++i) {
    const std::string id = "s" + std::to_string(i);
    conversations[id] = {
        {{"expect", "which file"}, {"content", "file " + id}, {"usage", {{"input", 100 + i}, {"output", 7}}}}};
    plan.push_back({{"id", id}, {"title", id}, {"instructions", "write " + id}, {"files", {id + ".txt"}}});
  }
  absl::StatusOr<std::unique_ptr<ScriptedModelServer>> model =
      ScriptedModelServer::Start(json({{"api_key", kKey}, {"conversations", conversations}}).dump());
  ASSERT_TRUE(model.ok()) << model.status();
  fs::create_directories(dir / "config/swarm");
  WriteFile(dir / "config/swarm/models.toml",
            "[providers.test]\nbase_url = \"" + (*model)->base_url() +
                "\"\nkey_env = \"SWARM_TEST_MODEL_KEY\"\nany_model = true\nconversation_header = true\n"
                "[providers.test.defaults]\ncontext_window = 100000\nmax_output_tokens = 1000\n"
                "input_usd_per_mtok = 2.0\noutput_usd_per_mtok = 8.0\n");

  const int port = FreePort();
  ServeProcess server(dir / "state", dir / "state/c.sock",
                      {"--allow-repo-root", dir.path(), "--http", "127.0.0.1:" + std::to_string(port)}, {},
                      {"XDG_CONFIG_HOME=" + dir.path() + "/config", std::string("SWARM_TEST_MODEL_KEY=") + kKey});
  // Before any run: the server answers, and what it shows is valid.
  Scrape idle = ScrapeMetrics(dir, port);
  EXPECT_EQ(idle["swarm_runs_live"], 0) << idle.text;

  v1::RunSpec spec;
  spec.set_repo(repo);
  spec.set_plan_text(json({{"subtasks", plan}}).dump());
  spec.set_model("test:m");
  spec.set_agent_command(
      "curl -sS --fail --unix-socket \"$SWARM_MODEL_SOCKET\" \"$SWARM_MODEL_URL/chat/completions\" "
      "-H 'content-type: application/json' "
      "-d '{\"messages\": [{\"role\": \"user\", \"content\": \"which file?\"}]}' > /dev/null && "
      "sleep 2 && echo \"$SWARM_SUBTASK_ID\" > \"$SWARM_SUBTASK_ID.txt\"");
  spec.set_test_command("true");
  spec.set_agents(3);
  spec.set_max_attempts(1);
  grpc::ClientContext submit_context;
  v1::SubmitRequest submit;
  *submit.mutable_spec() = spec;
  v1::SubmitReply reply;
  grpc::Status st = server.Stub()->Submit(&submit_context, submit, &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // While it runs: a live run, agents busy on their leases.
  bool seen_busy = false;
  for (int i = 0; i < 600 && !seen_busy; ++i) {
    Scrape live = ScrapeMetrics(dir, port);
    seen_busy = live["swarm_runs_live"] == 1 && live["swarm_agents{state=\"busy\"}"] > 0 &&
                live["swarm_leases_granted_total"] > 0;
    if (Status(server, reply.run_id()).finished()) break;
    if (!seen_busy) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen_busy) << "no scrape saw the run with busy agents";

  v1::RunStatus status;
  for (int i = 0; i < 1200; ++i) {
    status = Status(server, reply.run_id());
    if (status.finished()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(status.finished());
  ASSERT_EQ(status.exit_code(), 0);
  // The report is written after RunFinished is stored: wait for it whole.
  json report;
  for (int i = 0; i < 600 && !report.is_object(); ++i) {
    if (fs::exists(status.run_dir() + "/report.json")) {
      report = json::parse(ReadFile(status.run_dir() + "/report.json"), nullptr, /*allow_exceptions=*/false);
    }
    if (!report.is_object()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(report.is_object()) << "no report.json in " << status.run_dir();

  const Scrape end = ScrapeMetrics(dir, port);
  EXPECT_EQ(end["swarm_runs_live"], 0) << end.text;
  EXPECT_EQ(end.Sum("swarm_subtasks"), 0) << "a run that ended takes its gauges back\n" << end.text;
  EXPECT_EQ(end["swarm_runs_finished_total{state=\"completed\"}"], 1) << end.text;
  EXPECT_EQ(end["swarm_patches_landed_total"], report["counts"]["landed"].get<double>()) << end.text;
  EXPECT_EQ(end["swarm_patches_landed_total"], kSubtasks);
  EXPECT_EQ(end["swarm_subtasks_finished_total{state=\"landed\"}"], kSubtasks) << end.text;
  EXPECT_EQ(end["swarm_patches_submitted_total"], kSubtasks) << end.text;
  int attempts = 0;
  for (const json& s : report["subtasks"]) attempts += s["attempts"].get<int>();
  EXPECT_EQ(end["swarm_leases_granted_total"], attempts) << end.text;
  EXPECT_EQ(end["swarm_attempts_total{outcome=\"patch\"}"], attempts) << end.text;
  // The provider takes any model name (any_model): a name its table does not list is "other".
  const std::string m = "provider=\"test\",model=\"other\"";
  EXPECT_EQ(end["swarm_model_calls_total{" + m + ",outcome=\"ok\"}"], report["model"]["calls"].get<double>())
      << end.text;
  EXPECT_EQ(report["model"]["calls"], kSubtasks);
  EXPECT_EQ(end["swarm_model_tokens_total{" + m + ",kind=\"input\"}"], report["model"]["input_tokens"].get<double>());
  EXPECT_EQ(end["swarm_model_tokens_total{" + m + ",kind=\"output\"}"], report["model"]["output_tokens"].get<double>());
  EXPECT_NEAR(end["swarm_model_cost_usd_total{" + m + "}"], report["model"]["cost_usd"].get<double>(), 1e-12);
  EXPECT_GT(end["swarm_model_cost_usd_total{" + m + "}"], 0);
  // The base's test run, a check of each patch and the queue's runs: every one counted and timed.
  const double test_runs = end.Sum("swarm_test_runs_total");
  EXPECT_GE(test_runs, 1 + kSubtasks) << end.text;
  EXPECT_EQ(end.Sum("swarm_test_run_duration_seconds_count"), test_runs) << end.text;
  EXPECT_EQ(end["swarm_test_runs_total{stage=\"head\",result=\"passed\"}"], 1) << end.text;
  // Label values come from closed sets: no subtask id, file name or model text is in a series.
  for (const auto& [series, v] : end.samples) {
    EXPECT_EQ(series.find("s0"), std::string::npos) << series;
    EXPECT_EQ(series.find(".txt"), std::string::npos) << series;
    EXPECT_EQ(series.find("file "), std::string::npos) << series;
  }
  EXPECT_EQ(end.text.find(kKey), std::string::npos);
  server.Stop();
}

TEST(ServedMetricsTest, AnHttpAddressThatIsNotLoopbackNeedsTlsAndABadOneIsNamed) {
  TempDir dir;
  for (const auto& [address, says] :
       std::vector<std::pair<std::string, std::string>>{{"0.0.0.0:0", "not a loopback address: serving it needs TLS"},
                                                        {"localhost", "\"localhost\" is not HOST:PORT"}}) {
    CliResult r = RunSwarm({"serve", "--state-dir", dir / "state", "--http", address});
    EXPECT_EQ(r.exit_code, 2) << address << r.out << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("serving on"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace swarm::testing
