#include "orchestrator/dashboard/dashboard.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "orchestrator/dashboard/dashboard_auth.h"
#include "orchestrator/dashboard/live_board.h"
#include "orchestrator/store/store.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using json = nlohmann::json;
using ::swarm::testing::TempDir;

const std::string kToken(64, 'a');

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.path() + "/swarm.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    v1::Event started;
    auto* r = started.mutable_run_started();
    r->set_repo("/repo");
    r->set_run_dir(dir_.path() + "/runs/r1");
    r->mutable_spec()->set_budget_usd(2.5);
    auto* s = r->add_subtasks();
    s->set_id("a");
    s->set_title("<script>alert(1)</script>.c");
    s->set_instructions("the secret prompt");
    auto* b = r->add_subtasks();
    b->set_id("b");
    b->add_depends_on("a");
    Apply(started);
    v1::Event leased;
    leased.mutable_subtask_leased()->set_subtask_id("a");
    leased.mutable_subtask_leased()->set_attempt(1);
    leased.mutable_subtask_leased()->set_host_id("host-1");
    Apply(leased);
    v1::Event called;
    auto* c = called.mutable_model_called()->mutable_call();
    c->set_subtask_id("a");
    c->set_attempt(1);
    c->set_cost_usd(0.25);
    c->mutable_reply()->set_content("the model's secret reply");
    ASSERT_TRUE(store_->Apply(Stamp(called), {.model_request = "{\"messages\":[]}", .model_response = "{}"}).ok());
    std::filesystem::create_directories(dir_.path() + "/runs/r1/live");
    std::ofstream(dir_.path() + "/runs/r1/live/a.1.log") << "compiling a.c\n";
  }
  v1::Event& Stamp(v1::Event& e) {
    e.set_run_id("r1");
    return e;
  }
  void Apply(v1::Event e) { ASSERT_TRUE(store_->Apply(Stamp(e)).ok()); }
  void Finish() {
    v1::Event e;
    e.mutable_run_finished()->set_state("completed");
    Apply(e);
  }
  Dashboard Make(std::function<absl::Status(const std::string&, const std::string&)> cancel = nullptr) {
    return Dashboard({.state_dir = dir_.path(), .token = kToken, .live = &live_, .cancel = std::move(cancel)});
  }
  static WebRequest Get(const std::string& target, bool with_token = false) {
    WebRequest r;
    r.method = "GET";
    r.path = target.substr(0, target.find('?'));
    if (target.find('?') != std::string::npos) r.query = target.substr(target.find('?') + 1);
    r.headers.emplace_back("host", "127.0.0.1:8080");
    if (with_token) r.headers.emplace_back("authorization", "Bearer " + kToken);
    return r;
  }
  // Everything a stream sends until it ends, or after `polls` looks.
  static std::string Drain(WebResponse& r, int polls = 10) {
    std::string all = r.body;
    for (int i = 0; i < polls; ++i) {
      std::string more;
      const bool again = r.stream(more);
      all += more;
      if (!again) break;
    }
    return all;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  LiveBoard live_;
};

TEST_F(DashboardTest, PagesAndScriptsAreServedFromTheBinary) {
  Dashboard d = Make();
  WebResponse index = d.Answer(Get("/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("/static/runs.js"), std::string::npos);
  WebResponse run = d.Answer(Get("/runs/r1"));
  EXPECT_EQ(run.status, 200);
  EXPECT_NE(run.body.find("/static/run.js"), std::string::npos);
  WebResponse script = d.Answer(Get("/static/run_model.js"));
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("class RunModel"), std::string::npos);
  EXPECT_EQ(d.Answer(Get("/static/../swarm.db")).status, 404);
  EXPECT_EQ(d.Answer(Get("/static/nothing.js")).status, 404);
  EXPECT_EQ(d.Answer(Get("/runs/..")).status, 404);
  EXPECT_EQ(d.Answer(Get("/metrics")).status, 200);
}

TEST_F(DashboardTest, RunsListsEveryRunWithItsCounts) {
  Dashboard d = Make();
  WebResponse r = d.Answer(Get("/api/runs"));
  ASSERT_EQ(r.status, 200);
  json body = json::parse(r.body);
  ASSERT_EQ(body["runs"].size(), 1u);
  EXPECT_EQ(body["runs"][0]["id"], "r1");
  EXPECT_EQ(body["runs"][0]["subtasks"], 2);
  EXPECT_DOUBLE_EQ(body["runs"][0]["cost_usd"].get<double>(), 0.25);
  EXPECT_FALSE(body["runs"][0]["live"].get<bool>());  // nobody holds its lock

  json run = json::parse(d.Answer(Get("/api/runs/r1")).body);
  EXPECT_DOUBLE_EQ(run["budget_usd"].get<double>(), 2.5);
  EXPECT_FALSE(run["authorized"].get<bool>());
  EXPECT_TRUE(json::parse(d.Answer(Get("/api/runs/r1", true)).body)["authorized"].get<bool>());
  EXPECT_EQ(d.Answer(Get("/api/runs/nope")).status, 404);
}

TEST_F(DashboardTest, AStateDirectoryWithoutADatabaseShowsNoRunsAndMakesNone) {
  TempDir empty;
  Dashboard d({.state_dir = empty.path(), .token = kToken});
  json body = json::parse(d.Answer(Get("/api/runs")).body);
  EXPECT_TRUE(body["runs"].empty());
  EXPECT_FALSE(std::filesystem::exists(empty.path() + "/swarm.db"));
}

TEST_F(DashboardTest, TheStreamSendsTheLogWithIdsThenLiveUpdatesAndEndsAfterRunFinished) {
  Dashboard d = Make();
  WebResponse r = d.Answer(Get("/api/runs/r1/events"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  ASSERT_TRUE(r.stream);
  std::string first = Drain(r, 1);
  EXPECT_NE(first.find("id: 1\ndata: {"), std::string::npos);
  EXPECT_NE(first.find("id: 3\n"), std::string::npos);
  // Never a prompt or a model's reply: those need the token, through the transcript.
  EXPECT_EQ(first.find("the secret prompt"), std::string::npos);
  EXPECT_EQ(first.find("secret reply"), std::string::npos);
  EXPECT_EQ(first.find("\"issue\""), std::string::npos) << "no empty issue made up for a subtask without one";

  v1::Event live;
  live.set_run_id("r1");
  live.set_live(true);
  live.mutable_agent_activity()->set_subtask_id("a");
  live.mutable_agent_activity()->set_attempt(1);
  live.mutable_agent_activity()->set_action("run_tests");
  live_.Publish(live);
  std::string more;
  ASSERT_TRUE(r.stream(more));
  EXPECT_NE(more.find("event: live\ndata: {"), std::string::npos);
  EXPECT_NE(more.find("run_tests"), std::string::npos);
  more.clear();
  ASSERT_TRUE(r.stream(more));
  EXPECT_EQ(more, "");  // nothing new: nothing sent twice

  Finish();
  more.clear();
  EXPECT_FALSE(r.stream(more));
  EXPECT_NE(more.find("id: 4\n"), std::string::npos);
  EXPECT_NE(more.find("event: end\n"), std::string::npos);
}

TEST_F(DashboardTest, AReconnectResumesAfterTheLastEventId) {
  Dashboard d = Make();
  Finish();
  WebRequest again = Get("/api/runs/r1/events");
  again.headers.emplace_back("last-event-id", "2");
  WebResponse r = d.Answer(again);
  std::string all = Drain(r);
  EXPECT_EQ(all.find("id: 1\n"), std::string::npos);
  EXPECT_EQ(all.find("id: 2\n"), std::string::npos);
  EXPECT_NE(all.find("id: 3\n"), std::string::npos);
  EXPECT_NE(all.find("id: 4\n"), std::string::npos);
  WebResponse by_query = d.Answer(Get("/api/runs/r1/events?after=3"));
  std::string rest = Drain(by_query);
  EXPECT_EQ(rest.find("id: 3\n"), std::string::npos);
  EXPECT_NE(rest.find("id: 4\n"), std::string::npos);
  EXPECT_EQ(d.Answer(Get("/api/runs/r1/events?after=x")).status, 400);
}

TEST_F(DashboardTest, AResumedRunIsFollowedPastItsEarlierEnd) {
  Dashboard d = Make();
  Finish();  // seq 4: cancelled, say
  v1::Event resumed;
  resumed.mutable_run_resumed()->set_head("abc");
  Apply(resumed);  // seq 5
  WebResponse r = d.Answer(Get("/api/runs/r1/events"));
  std::string first = Drain(r, 1);
  EXPECT_NE(first.find("id: 5\n"), std::string::npos);
  EXPECT_EQ(first.find("event: end"), std::string::npos);
  Finish();  // seq 6: the run's last end
  std::string more;
  EXPECT_FALSE(r.stream(more));
  EXPECT_NE(more.find("id: 6\n"), std::string::npos);
  EXPECT_NE(more.find("event: end\n"), std::string::npos);
}

TEST_F(DashboardTest, WithoutTheTokenTheStreamCarriesNoTextAnAgentWrote) {
  v1::Event submitted;
  submitted.mutable_patch_submitted()->set_subtask_id("a");
  submitted.mutable_patch_submitted()->set_summary("a secret summary");
  submitted.mutable_patch_submitted()->set_attempt(1);
  submitted.mutable_patch_submitted()->set_base_commit("b");
  submitted.mutable_patch_submitted()->set_tree("t");
  submitted.mutable_patch_submitted()->set_commit("c");
  auto status = store_->Apply(Stamp(submitted), {.patch_diff = "diff"});
  ASSERT_TRUE(status.ok()) << status;
  v1::Event live;
  live.set_run_id("r1");
  live.set_live(true);
  live.mutable_agent_activity()->set_subtask_id("a");
  live.mutable_agent_activity()->set_action("run: cat /secret/file");
  live_.Publish(live);
  Dashboard d = Make();
  WebResponse anonymous = d.Answer(Get("/api/runs/r1/events"));
  std::string seen = Drain(anonymous, 1);
  EXPECT_EQ(seen.find("secret"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"action\":\"run\""), std::string::npos) << seen;
  WebResponse signed_in = d.Answer(Get("/api/runs/r1/events", true));
  std::string all = Drain(signed_in, 1);
  EXPECT_NE(all.find("a secret summary"), std::string::npos);
  EXPECT_NE(all.find("cat /secret/file"), std::string::npos);
  EXPECT_EQ(all.find("the secret prompt"), std::string::npos);  // a prompt: not even with the token
}

TEST_F(DashboardTest, LiveWordsWaitUntilTheStreamHasCaughtUpWithTheLog) {
  // More of the log than one look sends: a live word about its end must not come before it.
  for (int i = 0; i < 1500; ++i) {
    v1::Event registered;
    registered.mutable_agent_registered()->set_host_id(std::string(2000, 'h'));
    Apply(registered);
  }
  v1::Event live;
  live.set_run_id("r1");
  live.set_live(true);
  live.mutable_agent_activity()->set_subtask_id("a");
  live.mutable_agent_activity()->set_action("run_tests");
  live_.Publish(live);
  Dashboard d = Make();
  WebResponse r = d.Answer(Get("/api/runs/r1/events"));
  std::string first;
  ASSERT_TRUE(r.stream(first));
  EXPECT_EQ(first.find("event: live"), std::string::npos);
  EXPECT_EQ(first.find("id: 1503\n"), std::string::npos) << "not all of the log in one look";
  std::string rest;
  for (int i = 0; i < 10 && rest.find("event: live") == std::string::npos; ++i) ASSERT_TRUE(r.stream(rest));
  EXPECT_NE(rest.find("id: 1503\n"), std::string::npos);
  EXPECT_LT(rest.find("id: 1503\n"), rest.find("event: live"));
}

TEST_F(DashboardTest, LogsTranscriptsAndPromptsNeedTheToken) {
  Dashboard d = Make();
  EXPECT_EQ(d.Answer(Get("/api/runs/r1/subtasks/a/log?attempt=1")).status, 401);
  EXPECT_EQ(d.Answer(Get("/api/runs/r1/subtasks/a/transcript")).status, 401);
  json status_only = json::parse(d.Answer(Get("/api/runs/r1/subtasks/a")).body);
  EXPECT_FALSE(status_only.contains("instructions"));
  EXPECT_EQ(status_only["reason"], "");
  EXPECT_EQ(status_only["title"], "<script>alert(1)</script>.c");  // JSON, shown as text by the page
  ASSERT_EQ(status_only["attempts"].size(), 1u);

  WebResponse log = d.Answer(Get("/api/runs/r1/subtasks/a/log?attempt=1", true));
  EXPECT_EQ(log.status, 200);
  EXPECT_EQ(log.body, "compiling a.c\n");  // the running attempt's live log
  EXPECT_EQ(log.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(d.Answer(Get("/api/runs/r1/subtasks/a/log?attempt=0", true)).status, 400);
  EXPECT_EQ(d.Answer(Get("/api/runs/r1/subtasks/a/log?attempt=7", true)).status, 404);
  json transcript = json::parse(d.Answer(Get("/api/runs/r1/subtasks/a/transcript", true)).body);
  ASSERT_EQ(transcript["calls"].size(), 1u);
  EXPECT_EQ(transcript["calls"][0]["request"], "{\"messages\":[]}");
  json full = json::parse(d.Answer(Get("/api/runs/r1/subtasks/a", true)).body);
  EXPECT_EQ(full["instructions"], "the secret prompt");
  EXPECT_EQ(d.Answer(Get("/api/runs/r1/subtasks/zz")).status, 404);
}

TEST_F(DashboardTest, CancelNeedsTheTokenAndTheDashboardsOwnHeader) {
  std::vector<std::string> asked;
  Dashboard d = Make([&](const std::string& id, const std::string&) {
    asked.push_back(id);
    return absl::OkStatus();
  });
  WebRequest post = Get("/api/runs/r1/cancel");
  post.method = "POST";
  EXPECT_EQ(d.Answer(post).status, 401);
  post.headers.emplace_back("authorization", "Bearer " + kToken);
  EXPECT_EQ(d.Answer(post).status, 403);  // a form of another site cannot send the header
  post.headers.emplace_back("x-swarm-request", "1");
  post.headers.emplace_back("origin", "http://evil.example");
  EXPECT_EQ(d.Answer(post).status, 403);
  EXPECT_TRUE(asked.empty());
  post.headers.back().second = "http://127.0.0.1:8080";
  EXPECT_EQ(d.Answer(post).status, 202);
  EXPECT_EQ(asked, std::vector<std::string>{"r1"});
  WebRequest get = Get("/api/runs/r1/cancel", true);
  EXPECT_EQ(d.Answer(get).status, 405);
}

TEST_F(DashboardTest, CancelOfARunWithoutALiveCoordinatorIsRefused) {
  Dashboard d = Make();
  WebRequest post = Get("/api/runs/r1/cancel", true);
  post.method = "POST";
  post.headers.emplace_back("x-swarm-request", "1");
  WebResponse r = d.Answer(post);
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("no live coordinator"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/runs/r1/cancel"));
}

TEST_F(DashboardTest, ATokenInAPagesUrlBecomesACookieAndARedirect) {
  Dashboard d = Make();
  WebResponse r = d.Answer(Get("/runs/r1?token=" + kToken));
  EXPECT_EQ(r.status, 303);
  std::string location, cookie;
  for (const auto& [name, value] : r.headers) {
    if (name == "Location") location = value;
    if (name == "Set-Cookie") cookie = value;
  }
  EXPECT_EQ(location, "/runs/r1");
  // Named after the port, holding an HMAC of the token: never the token, which opens the Control API.
  EXPECT_EQ(cookie, "swarm_session_8080=" + SessionValue(kToken) + "; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(cookie.find(kToken), std::string::npos);
  EXPECT_EQ(d.Answer(Get("/runs/r1?token=wrong")).status, 401);
  WebRequest with_cookie = Get("/api/runs/r1");
  with_cookie.headers.emplace_back("cookie", "other=1; swarm_session_8080=" + SessionValue(kToken));
  EXPECT_TRUE(json::parse(d.Answer(with_cookie).body)["authorized"].get<bool>());
  WebRequest other_port = with_cookie;
  other_port.headers[0].second = "127.0.0.1:9090";
  EXPECT_FALSE(json::parse(d.Answer(other_port).body)["authorized"].get<bool>());
  WebRequest raw_token = Get("/api/runs/r1");
  raw_token.headers.emplace_back("cookie", "swarm_session_8080=" + kToken);
  EXPECT_FALSE(json::parse(d.Answer(raw_token).body)["authorized"].get<bool>());
  WebRequest climbing = Get("//evil.example/x?token=" + kToken);
  for (const auto& [name, value] : d.Answer(climbing).headers) {
    if (name == "Location") {
      EXPECT_EQ(value, "/evil.example/x");
    }
  }
}

}  // namespace
}  // namespace swarm
