// The two APIs' translation, checked against replies in the shapes the providers document.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/provider_protocol.h"
#include "models/wire/anthropic_messages.h"
#include "models/rate_limiter.h"
#include "models/sse.h"

namespace swarm {
namespace {

using nlohmann::json;

v1::ChatRequest AgentTurn() {
  v1::ChatRequest r;
  auto* s = r.add_messages();
  s->set_role("system");
  s->set_content("You edit code.");
  auto* u = r.add_messages();
  u->set_role("user");
  u->set_content("Rename f to g.");
  auto* a = r.add_messages();
  a->set_role("assistant");
  a->set_reasoning("I should read the file first.");
  auto* call = a->add_tool_calls();
  call->set_id("call_1");
  call->set_name("read_file");
  call->set_arguments_json(R"({"path":"a.c"})");
  auto* t = r.add_messages();
  t->set_role("tool");
  t->set_tool_call_id("call_1");
  t->set_content("int f();");
  auto* tool = r.add_tools();
  tool->set_name("read_file");
  tool->set_description("Reads a file");
  tool->set_parameters_json(R"({"type":"object","properties":{"path":{"type":"string"}}})");
  return r;
}

absl::StatusOr<v1::ChatReply> Stream(const ProviderProtocol& p, const std::string& sse_text) {
  auto decoder = p.NewStream();
  absl::Status status;
  SseParser parser([&](std::string_view e, std::string_view d) {
    if (status.ok()) status = decoder->OnEvent(e, d);
  });
  parser.Feed(sse_text);
  if (!status.ok()) return status;
  return decoder->Finish();
}

TEST(OpenAiChatTest, EncodesToolsToolCallsAndToolResults) {
  OpenAiChat p("max_completion_tokens");
  json body = json::parse(*p.Encode(AgentTurn(), "gpt-5", 1000, true));
  EXPECT_EQ(body["model"], "gpt-5");
  EXPECT_EQ(body["max_completion_tokens"], 1000);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  ASSERT_EQ(body["messages"].size(), 4u);
  EXPECT_EQ(body["messages"][2]["tool_calls"][0]["function"]["arguments"], R"({"path":"a.c"})");
  EXPECT_TRUE(body["messages"][2]["content"].is_null());
  EXPECT_FALSE(body["messages"][2].contains("reasoning_content"));  // DeepSeek refuses it in a request
  EXPECT_EQ(body["messages"][3]["tool_call_id"], "call_1");
  EXPECT_EQ(body["tools"][0]["function"]["parameters"]["properties"]["path"]["type"], "string");
  const auto headers = p.Headers("sk-test");
  EXPECT_EQ(headers.back(), (std::pair<std::string, std::string>{"authorization", "Bearer sk-test"}));
}

TEST(OpenAiChatTest, ReasoningGoesBackOnlyToProvidersThatWantIt) {
  json kimi = json::parse(*OpenAiChat("max_tokens", true).Encode(AgentTurn(), "kimi-k2-thinking", 100, false));
  EXPECT_EQ(kimi["messages"][2]["reasoning_content"], "I should read the file first.");
}

TEST(OpenAiChatTest, AToolWhoseParametersAreNotAnObjectIsRefused) {
  v1::ChatRequest r = AgentTurn();
  r.mutable_tools(0)->set_parameters_json("[1]");
  EXPECT_EQ(OpenAiChat("max_tokens").Encode(r, "m", 10, false).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OpenAiChatTest, DecodesAWholeReplyWithReasoningToolCallsAndDeepSeekCacheUsage) {
  const char* body = R"({"id":"x","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
    "content":"","reasoning_content":"think","tool_calls":[{"id":"c1","type":"function",
    "function":{"name":"edit","arguments":"{\"path\":\"a.c\"}"}},{"id":"c2","type":"function",
    "function":{"name":"edit","arguments":"{\"path\": "}}]}}],
    "usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}})";
  auto reply = OpenAiChat("max_tokens").Decode(body);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->finish_reason(), "tool_calls");
  EXPECT_EQ(reply->message().reasoning(), "think");
  ASSERT_EQ(reply->message().tool_calls_size(), 2);
  EXPECT_EQ(reply->message().tool_calls(0).error(), "");
  EXPECT_NE(reply->message().tool_calls(1).error().find("not valid JSON"), std::string::npos);
  EXPECT_TRUE(reply->usage_reported());
  EXPECT_EQ(reply->usage().input_tokens(), 100u);
  EXPECT_EQ(reply->usage().cached_input_tokens(), 64u);
  EXPECT_EQ(reply->usage().output_tokens(), 20u);
}

TEST(OpenAiChatTest, ReadsOpenAiAndMoonshotCachedTokens) {
  auto openai = OpenAiChat("max_tokens").Decode(
      R"({"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":8}}})");
  EXPECT_EQ(openai->usage().cached_input_tokens(), 8u);
  auto kimi = OpenAiChat("max_tokens").Decode(
      R"({"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,"cached_tokens":5}})");
  EXPECT_EQ(kimi->usage().cached_input_tokens(), 5u);
}

TEST(OpenAiChatTest, NotJsonOrNoChoicesIsDataLoss) {
  EXPECT_EQ(OpenAiChat("max_tokens").Decode("<html>").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenAiChat("max_tokens").Decode("{}").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenAiChat("max_tokens").Decode(R"({"choices":[{"message":7}]})").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(OpenAiChatTest, AssemblesStreamedToolCallDeltas) {
  const std::string sse =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"hm\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"On it\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\","
      "\"function\":{\"name\":\"edit\",\"arguments\":\"\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"pa\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"th\\\":1}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":7}}\n\n"
      "data: [DONE]\n\n";
  auto reply = Stream(OpenAiChat("max_tokens"), sse);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message().content(), "On it");
  EXPECT_EQ(reply->message().reasoning(), "hm");
  ASSERT_EQ(reply->message().tool_calls_size(), 1);
  EXPECT_EQ(reply->message().tool_calls(0).arguments_json(), R"({"path":1})");
  EXPECT_EQ(reply->finish_reason(), "tool_calls");
  EXPECT_EQ(reply->usage().input_tokens(), 50u);

  auto truncated = Stream(OpenAiChat("max_tokens"), sse.substr(0, sse.find("data: {\"choices\":[{\"index\":0,\"delta\":{},")));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  auto no_usage = Stream(OpenAiChat("max_tokens"), "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n");
  ASSERT_TRUE(no_usage.ok());
  EXPECT_FALSE(no_usage->usage_reported());
}

TEST(OpenAiChatTest, ReadsMoonshotsUsageInsideTheLastChoiceAndNullCounts) {
  const std::string sse =
      "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":9,"
      "\"completion_tokens\":2,\"total_tokens\":11,\"cached_tokens\":4}}]}\n\n"
      "data: [DONE]";  // no blank line at the very end
  auto decoder = OpenAiChat("max_tokens").NewStream();
  SseParser parser([&](std::string_view e, std::string_view d) { ASSERT_TRUE(decoder->OnEvent(e, d).ok()); });
  parser.Feed(sse);
  parser.Finish();
  auto reply = decoder->Finish();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message().content(), "hi");
  EXPECT_TRUE(reply->usage_reported());
  EXPECT_EQ(reply->usage().input_tokens(), 9u);
  EXPECT_EQ(reply->usage().cached_input_tokens(), 4u);
  auto nulls = OpenAiChat("max_tokens").Decode(
      R"({"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"cached_tokens":null,"prompt_tokens_details":null}})");
  ASSERT_TRUE(nulls.ok()) << nulls.status();
  EXPECT_EQ(nulls->usage().cached_input_tokens(), 0u);
}

TEST(OpenAiChatTest, ARepeatedToolNameIsNotDoubled) {
  const std::string sse =
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"edit\",\"arguments\":\"{\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"edit\",\"arguments\":\"}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";  // and no [DONE]
  auto reply = Stream(OpenAiChat("max_tokens"), sse);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message().tool_calls(0).name(), "edit");
  EXPECT_EQ(reply->message().tool_calls(0).arguments_json(), "{}");
  EXPECT_FALSE(reply->usage_reported());
}

TEST(AnthropicMessagesTest, EncodesSystemApartToolResultsAsUserTurnsAndCacheMarks) {
  AnthropicMessages p;
  v1::ChatRequest r = AgentTurn();
  auto* t2 = r.add_messages();  // a second tool result joins the same user turn
  t2->set_role("tool");
  t2->set_tool_call_id("call_2");
  t2->set_content("more");
  json body = json::parse(*p.Encode(r, "claude-sonnet-4-5", 2000, false));
  EXPECT_EQ(body["system"][0]["text"], "You edit code.");
  EXPECT_EQ(body["system"][0]["cache_control"]["type"], "ephemeral");
  ASSERT_EQ(body["messages"].size(), 3u);
  EXPECT_EQ(body["messages"][1]["content"][0]["type"], "tool_use");
  EXPECT_EQ(body["messages"][1]["content"][0]["input"]["path"], "a.c");
  EXPECT_EQ(body["messages"][2]["role"], "user");
  ASSERT_EQ(body["messages"][2]["content"].size(), 2u);
  EXPECT_EQ(body["messages"][2]["content"][1]["tool_use_id"], "call_2");
  EXPECT_EQ(body["messages"][2]["content"][1]["cache_control"]["type"], "ephemeral");
  EXPECT_EQ(body["tools"][0]["input_schema"]["type"], "object");
  EXPECT_FALSE(body.contains("stream"));
  bool version = false;
  for (const auto& [k, v] : p.Headers("k")) version |= (k == "anthropic-version" && v == anthropic::kVersion);
  EXPECT_TRUE(version);
}

TEST(AnthropicMessagesTest, DecodesBlocksAndCacheUsage) {
  const char* body = R"({"type":"message","role":"assistant","content":[{"type":"thinking","thinking":"plan","signature":"s"},
    {"type":"text","text":"Editing."},{"type":"tool_use","id":"t1","name":"edit","input":{"path":"a.c"}}],
    "stop_reason":"tool_use","usage":{"input_tokens":10,"cache_read_input_tokens":80,"cache_creation_input_tokens":5,"output_tokens":30}})";
  auto reply = AnthropicMessages().Decode(body);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message().reasoning(), "plan");
  EXPECT_EQ(reply->message().content(), "Editing.");
  EXPECT_EQ(reply->message().tool_calls(0).arguments_json(), R"({"path":"a.c"})");
  EXPECT_EQ(reply->finish_reason(), "tool_calls");
  EXPECT_EQ(reply->usage().input_tokens(), 95u);
  EXPECT_EQ(reply->usage().cached_input_tokens(), 80u);
  EXPECT_EQ(reply->usage().cache_write_tokens(), 5u);
  auto bad = AnthropicMessages().Decode(
      R"({"content":[{"type":"tool_use","id":"t","name":"edit","input":"{\"pa"}],"stop_reason":"tool_use","usage":{}})");
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(bad->message().tool_calls(0).error(), "");
  auto error = AnthropicMessages().Decode(R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
  EXPECT_NE(error.status().message().find("overloaded_error"), std::string::npos);
}

TEST(AnthropicMessagesTest, AssemblesAStreamAndNoticesTruncation) {
  const std::string sse =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
      "\"cache_read_input_tokens\":20,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\":\"ping\"}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"edit\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"2}\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto reply = Stream(AnthropicMessages(), sse);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message().content(), "Hi");
  EXPECT_EQ(reply->message().tool_calls(0).arguments_json(), R"({"a":2})");
  EXPECT_EQ(reply->usage().input_tokens(), 30u);
  EXPECT_EQ(reply->usage().output_tokens(), 15u);
  EXPECT_TRUE(reply->usage_reported());
  EXPECT_EQ(Stream(AnthropicMessages(), sse.substr(0, sse.find("event: message_delta"))).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(RateLimitHeadersTest, ParsesResetDurationsAndRetryAfter) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ParseResetHeader("1s"), milliseconds(1000));
  EXPECT_EQ(ParseResetHeader("6m0s"), milliseconds(360000));
  EXPECT_EQ(ParseResetHeader("250ms"), milliseconds(250));
  EXPECT_EQ(ParseResetHeader("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseResetHeader("soon"), std::nullopt);
  EXPECT_EQ(ParseResetHeader("2000-01-01T00:00:00Z"), milliseconds(0));  // in the past: no wait
  EXPECT_EQ(RetryAfter({{"retry-after", "3"}}), milliseconds(3000));
  EXPECT_EQ(RetryAfter({{"retry-after-ms", "120"}, {"retry-after", "3"}}), milliseconds(120));
  EXPECT_EQ(RetryAfter({{"retry-after", "later"}}), std::nullopt);
}

}  // namespace
}  // namespace swarm
