// The gateway against the scripted model server over real HTTP and HTTPS: both APIs, streamed and
// not, every injected fault, the rate limit, the budget, and the key kept out of what is stored.
#include "models/model_gateway.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "models/budget.h"
#include "models/scripted/scripted_model_server.h"
#include "testing/test_ca.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using nlohmann::json;
constexpr char kKey[] = "sk-test-4f9d2c7e1b";

ResolvedModel Model(const ScriptedModelServer& server, ApiStyle api, bool stream) {
  ResolvedModel m;
  m.ref = "test:m";
  m.model = "m";
  m.provider.name = "test";
  m.provider.api = api;
  m.provider.base_url = server.base_url();
  m.provider.key_env = "TEST_KEY";
  m.provider.stream = stream;
  m.provider.retry_base_ms = 20;
  m.provider.timeout_s = 10;
  m.provider.conversation_header = true;
  m.info.context_window = 100000;
  m.info.max_output_tokens = 1000;
  m.info.input_usd = 2;
  m.info.cached_input_usd = 0.5;
  m.info.cache_write_usd = 2.5;
  m.info.output_usd = 8;
  m.info.priced = true;
  m.api_key = kKey;
  return m;
}

v1::ChatRequest Ask(const std::string& text) {
  v1::ChatRequest r;
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content(text);
  auto* t = r.add_tools();
  t->set_name("edit_file");
  t->set_description("Edits a file");
  t->set_parameters_json(R"({"type":"object","properties":{"path":{"type":"string"}}})");
  return r;
}

std::unique_ptr<ScriptedModelServer> Serve(const json& script, ScriptedServerOptions options = {}) {
  auto server = ScriptedModelServer::Start(script.dump(), options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

const json kToolStep = {{"reasoning", "Need to edit."},
                        {"content", "Editing a.c."},
                        {"tool_calls", {{{"name", "edit_file"}, {"arguments", {{"path", "a.c"}}}}}},
                        {"usage", {{"input", 1000}, {"cached", 600}, {"output", 50}}}};

class ApiTest : public ::testing::TestWithParam<std::tuple<ApiStyle, bool>> {};

TEST_P(ApiTest, ToolCallsReasoningCachedUsageAndCost) {
  auto [api, stream] = GetParam();
  auto server = Serve({{"api_key", kKey}, {"conversations", {{"s1", {kToolStep, {{"content", "done"}}}}}}});
  auto gateway = ModelGateway::Start(Model(*server, api, stream));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  CallRecord record;
  auto reply = (*gateway)->CompleteAndWait("s1", Ask("rename f"), &record);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message().reasoning(), "Need to edit.");
  EXPECT_EQ(reply->message().content(), "Editing a.c.");
  ASSERT_EQ(reply->message().tool_calls_size(), 1);
  EXPECT_EQ(json::parse(reply->message().tool_calls(0).arguments_json()), json({{"path", "a.c"}}));
  EXPECT_EQ(reply->message().tool_calls(0).error(), "");
  EXPECT_EQ(reply->finish_reason(), "tool_calls");
  EXPECT_TRUE(reply->usage_reported());
  EXPECT_EQ(reply->usage().input_tokens(), 1000u);
  EXPECT_EQ(reply->usage().cached_input_tokens(), 600u);
  EXPECT_EQ(reply->usage().output_tokens(), 50u);
  // 400 plain at $2, 600 cached at $0.5, 50 out at $8, per million.
  EXPECT_NEAR(reply->cost_usd(), (400 * 2 + 600 * 0.5 + 50 * 8) / 1e6, 1e-12);
  EXPECT_NEAR((*gateway)->spent_usd(), reply->cost_usd(), 1e-12);
  EXPECT_TRUE(record.call.ok());
  EXPECT_EQ(json::parse(record.request_body)["stream"].is_boolean(), stream);

  auto second = (*gateway)->CompleteAndWait("s1", Ask("and then?"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->message().content(), "done");
  EXPECT_TRUE(server->unexpected().empty()) << server->unexpected()[0];
  auto seen = server->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].conversation, "s1");
  EXPECT_EQ(server->connections_accepted(), 1) << "the connection is reused";
}

INSTANTIATE_TEST_SUITE_P(Apis, ApiTest,
                         ::testing::Combine(::testing::Values(ApiStyle::kOpenAiChat, ApiStyle::kAnthropicMessages),
                                            ::testing::Bool()));

TEST(GatewayFaultsTest, RetriesRateLimitsAndServerErrorsThenSucceeds) {
  auto server = Serve({{"conversations",
                        {{"s", {{{"fault", "rate_limit"}, {"retry_after", 1}}, {{"fault", "server_error"}}, kToolStep}}}}});
  auto gateway = ModelGateway::Start(Model(*server, ApiStyle::kOpenAiChat, true));
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*gateway)->CompleteAndWait("s", Ask("x"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->http_attempts(), 3u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950)) << "Retry-After is honoured";
  EXPECT_TRUE(server->unexpected().empty());
}

TEST(GatewayFaultsTest, ClientErrorsAreNotRetried) {
  auto server = Serve({{"api_key", "the-right-key"}, {"default", kToolStep}});
  auto gateway = ModelGateway::Start(Model(*server, ApiStyle::kAnthropicMessages, false));
  CallRecord record;
  auto reply = (*gateway)->CompleteAndWait("s", Ask("x"), &record);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition) << reply.status();
  EXPECT_NE(reply.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(record.call.cost_usd(), 0);
}

TEST(GatewayFaultsTest, TruncatedStreamIsAnErrorChargedItsWholeReservation) {
  for (ApiStyle api : {ApiStyle::kOpenAiChat, ApiStyle::kAnthropicMessages}) {
    auto server = Serve({{"conversations", {{"s", {{{"fault", "truncate"}, {"content", "cut off here"}}}}}}});
    auto gateway = ModelGateway::Start(Model(*server, api, true));
    CallRecord record;
    auto reply = (*gateway)->CompleteAndWait("s", Ask("x"), &record);
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kDataLoss) << reply.status();
    const double reservation = WorstCaseUsd(Model(*server, api, true).info, record.request_body.size(), 1000);
    EXPECT_NEAR(record.call.cost_usd(), reservation, 1e-12);
    EXPECT_NEAR((*gateway)->spent_usd(), reservation, 1e-12);
    EXPECT_EQ(server->requests().size(), 1u) << "tokens were spent: not retried";
  }
}

TEST(GatewayFaultsTest, TruncatedWholeReplyNotJsonAndMalformedToolArgumentsReachTheAgentAsErrors) {
  auto server = Serve({{"conversations",
                        {{"t", {{{"fault", "truncate"}, {"content", "x"}}}},
                         {"j", {{{"fault", "not_json"}}}},
                         {"m", {{{"fault", "malformed_tool_args"}, {"tool_calls", {{{"name", "edit_file"}, {"arguments", {{"path", "a.c"}}}}}}}}}}}});
  for (ApiStyle api : {ApiStyle::kOpenAiChat, ApiStyle::kAnthropicMessages}) {
    for (bool stream : {false, true}) {
      auto gateway = ModelGateway::Start(Model(*server, api, stream));
      if (!stream) {
        auto t = (*gateway)->CompleteAndWait("t", Ask("x"));
        EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss) << t.status();
        auto j = (*gateway)->CompleteAndWait("j", Ask("x"));
        EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss) << j.status();
        EXPECT_NE(j.status().message().find("not JSON"), std::string::npos) << j.status();
      }
      auto m = (*gateway)->CompleteAndWait("m", Ask("x"));
      ASSERT_TRUE(m.ok()) << m.status();
      ASSERT_EQ(m->message().tool_calls_size(), 1);
      EXPECT_NE(m->message().tool_calls(0).error(), "") << ApiStyleName(api) << " stream " << stream;
      server = Serve({{"conversations",
                       {{"t", {{{"fault", "truncate"}, {"content", "x"}}}},
                        {"j", {{{"fault", "not_json"}}}},
                        {"m", {{{"fault", "malformed_tool_args"}, {"tool_calls", {{{"name", "edit_file"}, {"arguments", {{"path", "a.c"}}}}}}}}}}}});
    }
  }
}

TEST(GatewayFaultsTest, AStalledConnectionTimesOut) {
  auto server = Serve({{"conversations", {{"s", {{{"fault", "stall"}}}}}}});
  ResolvedModel m = Model(*server, ApiStyle::kOpenAiChat, true);
  m.provider.timeout_s = 1;
  m.provider.max_retries = 0;
  auto gateway = ModelGateway::Start(m);
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*gateway)->CompleteAndWait("s", Ask("x"));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded) << reply.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(GatewayFaultsTest, AnAttemptThatMayHaveBeenBilledIsChargedBeforeTheRetry) {
  auto server = Serve({{"conversations", {{"s", {{{"fault", "stall"}}, kToolStep}}}}});
  ResolvedModel m = Model(*server, ApiStyle::kOpenAiChat, true);
  m.provider.timeout_s = 1;
  m.provider.max_retries = 1;
  auto gateway = ModelGateway::Start(m);
  CallRecord record;
  auto reply = (*gateway)->CompleteAndWait("s", Ask("x"), &record);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->http_attempts(), 2u);
  const double worst = WorstCaseUsd(m.info, record.request_body.size(), 1000);
  const double used = (400 * 2 + 600 * 0.5 + 50 * 8) / 1e6;
  EXPECT_NEAR(record.call.cost_usd(), worst + used, 1e-12);
  EXPECT_NEAR((*gateway)->spent_usd(), worst + used, 1e-12);
  // With a budget that covers one worst case only, the retry is refused rather than overspent.
  auto again = Serve({{"conversations", {{"s", {{{"fault", "stall"}}, kToolStep}}}}});
  auto tight = ModelGateway::Start(Model(*again, ApiStyle::kOpenAiChat, true), {.budget_usd = worst * 1.5});
  ResolvedModel mt = Model(*again, ApiStyle::kOpenAiChat, true);
  mt.provider.timeout_s = 1;
  mt.provider.max_retries = 1;
  tight = ModelGateway::Start(mt, {.budget_usd = worst * 1.5});
  auto refused = (*tight)->CompleteAndWait("s", Ask("x"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_EQ(again->requests().size(), 1u);
  EXPECT_LE((*tight)->spent_usd(), worst * 1.5);
}

TEST(GatewayFaultsTest, CallsWaitForReservationsInFlightRatherThanFail) {
  auto server = Serve({{"default", {{"content", "ok"}, {"delay_ms", 200}, {"usage", {{"input", 10}, {"output", 10}}}}}});
  ResolvedModel m = Model(*server, ApiStyle::kOpenAiChat, false);
  const double worst = WorstCaseUsd(m.info, 400, 1000);
  // Room for one worst case at a time, and for many calls at their real cost.
  auto gateway = ModelGateway::Start(m, {.budget_usd = worst * 1.2});
  std::vector<std::future<absl::StatusOr<v1::ChatReply>>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] { return (*gateway)->CompleteAndWait("c" + std::to_string(i), Ask("x")); }));
  }
  for (auto& c : calls) {
    auto r = c.get();
    EXPECT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(server->max_concurrent(), 1) << "they went one at a time";
}

TEST(GatewayTlsTest, HttpsWithTheTestCaAndAHostnameMismatchIsRefused) {
  testing::TempDir dir;
  auto ca = testing::MakeTestCa(dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto good = Serve({{"default", kToolStep}}, {.cert_file = ca->server_cert, .key_file = ca->server_key});
  ResolvedModel m = Model(*good, ApiStyle::kAnthropicMessages, true);
  ASSERT_EQ(m.provider.base_url.rfind("https://localhost:", 0), 0u);
  m.provider.ca_file = ca->ca_cert;
  auto reply = (*ModelGateway::Start(m))->CompleteAndWait("s", Ask("x"));
  EXPECT_TRUE(reply.ok()) << reply.status();

  // Without the test CA, the system's store does not trust it.
  m.provider.ca_file.clear();
  auto untrusted = (*ModelGateway::Start(m))->CompleteAndWait("s", Ask("x"));
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kPermissionDenied) << untrusted.status();

  // A certificate the CA signed for another name.
  auto wrong = Serve({{"default", kToolStep}}, {.cert_file = ca->wrong_cert, .key_file = ca->wrong_key});
  ResolvedModel w = Model(*wrong, ApiStyle::kOpenAiChat, false);
  w.provider.ca_file = ca->ca_cert;
  auto mismatch = (*ModelGateway::Start(w))->CompleteAndWait("s", Ask("x"));
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kPermissionDenied) << mismatch.status();
  EXPECT_NE(mismatch.status().message().find("hostname mismatch"), std::string::npos) << mismatch.status();
  EXPECT_TRUE(wrong->requests().empty()) << "nothing was sent to it";
}

TEST(GatewayRateLimitTest, ThirtyTwoCallersWithALimitOfFour) {
  auto server = Serve({{"default", {{"content", "ok"}, {"delay_ms", 100}}}});
  ResolvedModel m = Model(*server, ApiStyle::kOpenAiChat, true);
  m.provider.concurrency = 4;
  auto gateway = ModelGateway::Start(m);
  std::vector<std::future<absl::StatusOr<v1::ChatReply>>> calls;
  for (int i = 0; i < 32; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      return (*gateway)->CompleteAndWait("c" + std::to_string(i), Ask("x"));
    }));
  }
  for (auto& c : calls) EXPECT_TRUE(c.get().ok());
  EXPECT_EQ(server->requests().size(), 32u);
  EXPECT_LE(server->max_concurrent(), 4);
  EXPECT_GE(server->max_concurrent(), 2);
}

TEST(GatewayRateLimitTest, ABurstOf429sSlowsTheCallersWithoutFailingThem) {
  json conversations;
  for (int i = 0; i < 16; ++i) {
    conversations["c" + std::to_string(i)] = {{{"fault", "rate_limit"}, {"retry_after", 1}}, {{"content", "ok"}}};
  }
  auto server = Serve({{"conversations", conversations}});
  ResolvedModel m = Model(*server, ApiStyle::kAnthropicMessages, false);
  m.provider.concurrency = 16;
  auto gateway = ModelGateway::Start(m);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<absl::StatusOr<v1::ChatReply>>> calls;
  for (int i = 0; i < 16; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      return (*gateway)->CompleteAndWait("c" + std::to_string(i), Ask("x"));
    }));
  }
  for (auto& c : calls) {
    auto r = c.get();
    EXPECT_TRUE(r.ok()) << r.status();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
  EXPECT_EQ(server->requests().size(), 32u);
  EXPECT_TRUE(server->unexpected().empty());
}

TEST(GatewayBudgetTest, CallsStopAtTheBudgetAndTheServerSeesNoneBeyondIt) {
  auto server = Serve({{"default", {{"content", "ok"}, {"usage", {{"input", 100}, {"output", 900}}}}}});
  ResolvedModel m = Model(*server, ApiStyle::kOpenAiChat, true);
  // Each call costs (100*2 + 900*8)/1e6 = $0.0074; its worst case is about (bytes*2.5 + 1000*8)/1e6.
  auto gateway = ModelGateway::Start(m, {.budget_usd = 0.03});
  int ok = 0;
  absl::Status refused;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    auto r = (*gateway)->CompleteAndWait("s", Ask("x"));
    if (r.ok()) ++ok;
    else refused = r.status();
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(server->requests().size(), 3u);
  EXPECT_LE((*gateway)->spent_usd(), 0.03);
  EXPECT_TRUE((*gateway)->budget_exhausted());
  // The per-subtask cap refuses only that subtask.
  auto per = ModelGateway::Start(m, {.per_subtask_usd = 0.015});  // one call and its worst case fit, not two
  EXPECT_TRUE((*per)->CompleteAndWait("a", Ask("x")).ok());
  EXPECT_EQ((*per)->CompleteAndWait("a", Ask("x")).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE((*per)->CompleteAndWait("b", Ask("x")).ok());
  EXPECT_FALSE((*per)->budget_exhausted());
}

TEST(GatewayKeyTest, TheKeyIsSentButNeverInWhatIsStored) {
  // A server that echoes the key back in its error, as some providers do.
  auto server = Serve({{"conversations", {{"s", {kToolStep}}}}});
  auto gateway = ModelGateway::Start(Model(*server, ApiStyle::kOpenAiChat, true));
  CallRecord record;
  v1::ChatRequest request = Ask(std::string("my key is ") + kKey);  // even if an agent puts it in a prompt
  ASSERT_TRUE((*gateway)->CompleteAndWait("s", request, &record).ok());
  EXPECT_EQ(server->requests()[0].headers.at("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(record.request_body.find(kKey), std::string::npos);
  EXPECT_EQ(record.response_body.find(kKey), std::string::npos);
  EXPECT_EQ(record.call.DebugString().find(kKey), std::string::npos);
}

}  // namespace
}  // namespace swarm
