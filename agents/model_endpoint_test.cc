#include "agents/model_endpoint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace swarm {
namespace {

using nlohmann::json;

TEST(ModelEndpointTest, ReadsAChatCompletionsRequestAsAgentsWriteThem) {
  bool stream = false;
  auto request = ChatRequestFromOpenAi(R"({
    "model": "ignored", "stream": true, "max_completion_tokens": 300,
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Fix "}, {"type": "text", "text": "it."}]},
      {"role": "assistant", "content": null, "reasoning_content": "look first", "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "read_file", "arguments": "{\"path\": \"a.c\"}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "int f();"}],
    "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]})",
                                       &stream);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(stream);
  EXPECT_EQ(request->max_tokens(), 300u);
  ASSERT_EQ(request->messages_size(), 4);
  EXPECT_EQ(request->messages(0).role(), "system");
  EXPECT_EQ(request->messages(1).content(), "Fix it.");
  EXPECT_EQ(request->messages(2).tool_calls(0).arguments_json(), R"({"path": "a.c"})");
  EXPECT_EQ(request->messages(2).reasoning(), "look first");
  EXPECT_EQ(request->messages(3).tool_call_id(), "c1");
  EXPECT_EQ(request->tools(0).name(), "read_file");
}

TEST(ModelEndpointTest, BadRequestsNameWhatIsWrong) {
  bool stream = false;
  EXPECT_NE(ChatRequestFromOpenAi("not json", &stream).status().message().find("not a JSON object"), std::string::npos);
  EXPECT_NE(ChatRequestFromOpenAi(R"({"messages": []})", &stream).status().message().find("non-empty"),
            std::string::npos);
  EXPECT_NE(ChatRequestFromOpenAi(R"({"messages": [{"role": "wizard", "content": "x"}]})", &stream)
                .status()
                .message()
                .find("unknown message role \"wizard\""),
            std::string::npos);
  EXPECT_EQ(ChatRequestFromOpenAi(R"({"messages": [{"content": "x"}]})", &stream).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ModelEndpointTest, WritesRepliesAsOpenAiBodiesAndStreams) {
  v1::ChatReply reply;
  reply.mutable_message()->set_role("assistant");
  reply.mutable_message()->set_reasoning("hm");
  auto* call = reply.mutable_message()->add_tool_calls();
  call->set_id("c9");
  call->set_name("edit");
  call->set_arguments_json(R"({"x":1})");
  reply.set_finish_reason("tool_calls");
  reply.mutable_usage()->set_input_tokens(10);
  reply.mutable_usage()->set_cached_input_tokens(4);
  reply.mutable_usage()->set_output_tokens(3);
  reply.set_cost_usd(0.25);
  json body = json::parse(OpenAiReplyBody(reply, false));
  EXPECT_TRUE(body["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(body["choices"][0]["message"]["reasoning_content"], "hm");
  EXPECT_EQ(body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], R"({"x":1})");
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(body["swarm"]["cost_usd"], 0.25);
  const std::string sse = OpenAiReplyBody(reply, true);
  EXPECT_EQ(sse.rfind("data: [DONE]\n\n"), sse.size() - 14);
  EXPECT_NE(sse.find("\"finish_reason\":\"tool_calls\""), std::string::npos);
}

}  // namespace
}  // namespace swarm
