// The codecs against each other: what a client writes, a server reads back unchanged, and what a
// server writes (whole or streamed, in one piece or many), a client reads back unchanged. Also the
// requests agents write to their model endpoint, and what is wrong with bad ones.
#include "models/wire/wire.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/wire/anthropic_messages.h"
#include "models/wire/openai_chat.h"

namespace swarm {
namespace {

using nlohmann::json;

v1::ChatRequest AgentConversation() {
  v1::ChatRequest r;
  auto add = [&](const char* role, const char* content) {
    v1::ChatMessage* m = r.add_messages();
    m->set_role(role);
    m->set_content(content);
    return m;
  };
  add("system", "You fix bugs.");
  add("user", "Fix the crash in ünïcode.c.");
  v1::ChatMessage* turn = add("assistant", "");
  turn->set_reasoning("Look at the file first.");
  v1::ToolCall* call = turn->add_tool_calls();
  call->set_id("c1");
  call->set_name("read_file");
  call->set_arguments_json(R"({"path":"ünïcode.c"})");
  add("tool", "int main() { return *(int*)0; }")->set_tool_call_id("c1");
  v1::ToolSpec* tool = r.add_tools();
  tool->set_name("read_file");
  tool->set_description("Reads a file.");
  tool->set_parameters_json(R"({"properties":{"path":{"type":"string"}},"type":"object"})");
  r.set_max_tokens(4096);
  return r;
}

v1::ChatReply ToolCallReply() {
  v1::ChatReply reply;
  v1::ChatMessage* m = reply.mutable_message();
  m->set_role("assistant");
  m->set_content("Le pointeur nul est déréférencé ✓.");
  m->set_reasoning("The cast dereferences address 0 — 零.");
  for (int i = 0; i < 2; ++i) {
    v1::ToolCall* c = m->add_tool_calls();
    c->set_id(absl::StrCat("call_", i));
    c->set_name(i == 0 ? "edit_file" : "run_tests");
    c->set_arguments_json(i == 0 ? R"({"path":"ünïcode.c","old":"*(int*)0","new":"0"})" : "{}");
  }
  reply.set_finish_reason("tool_calls");
  reply.mutable_usage()->set_input_tokens(1200);
  reply.mutable_usage()->set_cached_input_tokens(1000);
  reply.mutable_usage()->set_output_tokens(57);
  reply.set_usage_reported(true);
  return reply;
}

// A stream's events (each "event: NAME\ndata: X\n\n" or "data: X\n\n") fed to a decoder.
absl::StatusOr<v1::ChatReply> Decode(std::unique_ptr<StreamDecoder> decoder, const std::vector<std::string>& events) {
  for (const std::string& e : events) {
    std::string name;
    std::string_view rest = e;
    if (rest.starts_with("event: ")) {
      name = std::string(rest.substr(7, rest.find('\n') - 7));
      rest.remove_prefix(rest.find('\n') + 1);
    }
    EXPECT_TRUE(rest.starts_with("data: ") && rest.ends_with("\n\n")) << e;
    if (absl::Status s = decoder->OnEvent(name, rest.substr(6, rest.size() - 8)); !s.ok()) return s;
  }
  return decoder->Finish();
}

void ExpectSame(const v1::ChatReply& want, const v1::ChatReply& got) {
  EXPECT_EQ(got.message().role(), "assistant");
  EXPECT_EQ(got.message().content(), want.message().content());
  EXPECT_EQ(got.message().reasoning(), want.message().reasoning());
  ASSERT_EQ(got.message().tool_calls_size(), want.message().tool_calls_size());
  for (int i = 0; i < want.message().tool_calls_size(); ++i) {
    EXPECT_EQ(got.message().tool_calls(i).id(), want.message().tool_calls(i).id());
    EXPECT_EQ(got.message().tool_calls(i).name(), want.message().tool_calls(i).name());
    EXPECT_EQ(json::parse(got.message().tool_calls(i).arguments_json()),
              json::parse(want.message().tool_calls(i).arguments_json()));
    EXPECT_EQ(got.message().tool_calls(i).error(), "");
  }
  EXPECT_EQ(got.finish_reason(), want.finish_reason());
  EXPECT_EQ(got.usage().input_tokens(), want.usage().input_tokens());
  EXPECT_EQ(got.usage().cached_input_tokens(), want.usage().cached_input_tokens());
  EXPECT_EQ(got.usage().cache_write_tokens(), want.usage().cache_write_tokens());
  EXPECT_EQ(got.usage().output_tokens(), want.usage().output_tokens());
  EXPECT_TRUE(got.usage_reported());
}

TEST(OpenAiWireTest, AServerReadsBackWhatTheGatewayWrites) {
  const v1::ChatRequest sent = AgentConversation();
  absl::StatusOr<std::string> body = openai::EncodeRequest(sent, {.model = "deepseek-chat",
                                                                  .max_tokens_field = "max_completion_tokens",
                                                                  .max_tokens = 4096,
                                                                  .stream = true,
                                                                  .reasoning_in_history = true});
  ASSERT_TRUE(body.ok()) << body.status();
  absl::StatusOr<openai::DecodedRequest> read = openai::DecodeRequest(*body);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->model, "deepseek-chat");
  EXPECT_TRUE(read->stream);
  EXPECT_TRUE(read->include_usage);
  // Byte for byte: the same messages, tool calls, reasoning, tools and limit.
  EXPECT_EQ(read->request.SerializeAsString(), sent.SerializeAsString()) << read->request.DebugString();
}

TEST(OpenAiWireTest, ReasoningGoesBackOnlyWhenAskedAndMalformedArgumentsAreNotEchoed) {
  v1::ChatRequest r = AgentConversation();
  r.mutable_messages(2)->mutable_tool_calls(0)->set_error("not JSON");
  absl::StatusOr<openai::DecodedRequest> read = openai::DecodeRequest(*openai::EncodeRequest(r, {.model = "m"}));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->request.messages(2).reasoning(), "");
  EXPECT_EQ(read->request.messages(2).tool_calls(0).arguments_json(), "{}");
  EXPECT_EQ(read->request.max_tokens(), 0u);  // no limit given: none written
  EXPECT_FALSE(read->stream);
}

TEST(OpenAiWireTest, AClientReadsBackWhatAServerWritesWholeOrStreamedInAnyNumberOfPieces) {
  const v1::ChatReply reply = ToolCallReply();
  absl::StatusOr<v1::ChatReply> whole = openai::DecodeReply(openai::EncodeReply(reply, {.id = "x", .model = "m"}));
  ASSERT_TRUE(whole.ok()) << whole.status();
  ExpectSame(reply, *whole);
  for (int pieces : {1, 3, 1000}) {
    SCOPED_TRACE(pieces);
    const std::vector<std::string> events = openai::EncodeStream(reply, {.id = "x", .model = "m", .pieces = pieces});
    EXPECT_EQ(events.back(), "data: [DONE]\n\n");
    absl::StatusOr<v1::ChatReply> streamed = Decode(openai::NewStreamDecoder(), events);
    ASSERT_TRUE(streamed.ok()) << streamed.status();
    ExpectSame(reply, *streamed);
  }
}

TEST(OpenAiWireTest, AStreamWithoutTheUsageChunkHasNoUsage) {
  absl::StatusOr<v1::ChatReply> streamed =
      Decode(openai::NewStreamDecoder(), openai::EncodeStream(ToolCallReply(), {.usage_in_stream = false}));
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_FALSE(streamed->usage_reported());
  EXPECT_EQ(streamed->finish_reason(), "tool_calls");
}

TEST(OpenAiWireTest, AWholeReplyCarriesTheCallsCostAndOnlyToolCallsMeanNullContent) {
  v1::ChatReply reply = ToolCallReply();
  reply.mutable_message()->clear_content();
  json body = json::parse(openai::EncodeReply(reply, {.cost_usd = 0.25}));
  EXPECT_TRUE(body["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 1000);
  EXPECT_EQ(body["swarm"]["cost_usd"], 0.25);
}

TEST(OpenAiWireTest, ReadsAChatCompletionsRequestAsAgentsWriteThem) {
  auto read = openai::DecodeRequest(R"({
    "model": "ignored", "stream": true, "max_completion_tokens": 300,
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Fix "}, {"type": "text", "text": "it."}]},
      {"role": "assistant", "content": null, "reasoning_content": "look first", "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "read_file", "arguments": {"path": "a.c"}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "int f();"}],
    "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]})");
  ASSERT_TRUE(read.ok()) << read.status();
  const v1::ChatRequest& request = read->request;
  EXPECT_TRUE(read->stream);
  EXPECT_FALSE(read->include_usage);
  EXPECT_EQ(request.max_tokens(), 300u);
  ASSERT_EQ(request.messages_size(), 4);
  EXPECT_EQ(request.messages(0).role(), "system");
  EXPECT_EQ(request.messages(1).content(), "Fix it.");
  EXPECT_EQ(request.messages(2).tool_calls(0).arguments_json(), R"({"path":"a.c"})");  // an object, as text
  EXPECT_EQ(request.messages(2).reasoning(), "look first");
  EXPECT_EQ(request.messages(3).tool_call_id(), "c1");
  EXPECT_EQ(request.tools(0).name(), "read_file");
}

TEST(OpenAiWireTest, BadRequestsNameWhatIsWrong) {
  auto message = [](std::string_view body) { return std::string(openai::DecodeRequest(body).status().message()); };
  EXPECT_NE(message("not json").find("the request body is not a JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"messages": []})").find("non-empty"), std::string::npos);
  EXPECT_NE(message(R"({"messages": [{"role": "wizard", "content": "x"}]})").find("unknown message role \"wizard\""),
            std::string::npos);
  EXPECT_EQ(openai::DecodeRequest(R"({"messages": [{"content": "x"}]})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(openai::DecodeRequest(R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {}}]}]})")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OpenAiWireTest, ErrorsReadBackAsTheirMessage) {
  EXPECT_EQ(openai::ErrorMessage(openai::EncodeError("slow down", "requests", "rate_limit_exceeded")), "slow down");
  EXPECT_TRUE(json::parse(openai::EncodeError("x", "server_error", ""))["error"]["code"].is_null());
  EXPECT_EQ(openai::DecodeReply(openai::EncodeError("down", "server_error", "")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(AnthropicWireTest, AClientReadsBackWhatAServerWritesWholeOrStreamedInAnyNumberOfPieces) {
  v1::ChatReply reply = ToolCallReply();
  reply.mutable_usage()->set_cache_write_tokens(100);  // input counts it, as swarm's Usage does
  const ReplyShape whole_shape{.id = "msg_1", .model = "claude", .thinking_signature = "sig"};
  absl::StatusOr<v1::ChatReply> whole = anthropic::DecodeReply(anthropic::EncodeReply(reply, whole_shape));
  ASSERT_TRUE(whole.ok()) << whole.status();
  ExpectSame(reply, *whole);
  for (int pieces : {1, 3, 1000}) {
    SCOPED_TRACE(pieces);
    ReplyShape shape = whole_shape;
    shape.pieces = pieces;
    absl::StatusOr<v1::ChatReply> streamed =
        Decode(anthropic::NewStreamDecoder(), anthropic::EncodeStream(reply, shape));
    ASSERT_TRUE(streamed.ok()) << streamed.status();
    ExpectSame(reply, *streamed);
  }
}

TEST(AnthropicWireTest, ArgumentsThatAreNotAnObjectReachTheClientAsAnError) {
  v1::ChatReply reply = ToolCallReply();
  reply.mutable_message()->mutable_tool_calls(0)->set_arguments_json(R"({"path":"a.c")");
  absl::StatusOr<v1::ChatReply> whole = anthropic::DecodeReply(anthropic::EncodeReply(reply, {}));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_NE(whole->message().tool_calls(0).error(), "");
  absl::StatusOr<v1::ChatReply> streamed = Decode(anthropic::NewStreamDecoder(), anthropic::EncodeStream(reply, {}));
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(streamed->message().tool_calls(0).arguments_json(), R"({"path":"a.c")");
  EXPECT_NE(streamed->message().tool_calls(0).error(), "");
}

TEST(AnthropicWireTest, AnEmptyReplyIsOneEmptyTextBlockAndATruncatedStreamIsDataLoss) {
  v1::ChatReply empty;
  empty.set_finish_reason("stop");
  json body = json::parse(anthropic::EncodeReply(empty, {}));
  ASSERT_EQ(body["content"].size(), 1u);
  EXPECT_EQ(body["content"][0]["type"], "text");
  EXPECT_EQ(body["stop_reason"], "end_turn");
  std::vector<std::string> events = anthropic::EncodeStream(empty, {});
  events.pop_back();  // message_stop
  EXPECT_EQ(Decode(anthropic::NewStreamDecoder(), events).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(anthropic::ErrorMessage(anthropic::EncodeError("busy", "overloaded_error")), "overloaded_error: busy");
}

// An index no server sends (a float too big for an int, a negative, a huge count) is DataLoss, not
// undefined behaviour or a map of a billion blocks (found by fuzz/provider_reply_fuzz).
TEST(WireTest, AnIndexThatIsNotASmallCountIsDataLoss) {
  for (const char* index : {"1e80", "-1", "4096", "18446744073709551615", "0.5", "\"0\""}) {
    SCOPED_TRACE(index);
    std::vector<std::string> events = anthropic::EncodeStream(ToolCallReply(), {});
    std::vector<std::string> bad;
    for (std::string e : events) {
      if (e.find("content_block_delta") != std::string::npos) {
        std::size_t at = e.find("\"index\":");
        ASSERT_NE(at, std::string::npos);
        std::size_t end = e.find_first_of(",}", at);
        e.replace(at + 8, end - at - 8, index);
      }
      bad.push_back(e);
    }
    EXPECT_EQ(Decode(anthropic::NewStreamDecoder(), bad).status().code(), absl::StatusCode::kDataLoss);
    std::string chunk = absl::StrCat(R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":)", index,
                                     R"(,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]})", "\n\n");
    EXPECT_EQ(Decode(openai::NewStreamDecoder(), {chunk, "data: [DONE]\n\n"}).status().code(),
              absl::StatusCode::kDataLoss);
  }
  // The good stream still decodes.
  EXPECT_TRUE(Decode(anthropic::NewStreamDecoder(), anthropic::EncodeStream(ToolCallReply(), {})).ok());
}

// The exact shapes a server writes, as the providers document them: the round trips above would
// not notice a mistake made the same way on both sides.
TEST(OpenAiWireTest, AStreamIsOpenAisChunksInOpenAisOrder) {
  v1::ChatReply reply;
  reply.mutable_message()->set_content("hi");
  reply.set_finish_reason("stop");
  reply.mutable_usage()->set_input_tokens(7);
  reply.mutable_usage()->set_output_tokens(1);
  const std::vector<std::string> events = openai::EncodeStream(reply, {.id = "c", .created = 5, .model = "m"});
  ASSERT_EQ(events.size(), 5u);
  std::vector<json> chunks;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_TRUE(events[i].starts_with("data: ") && events[i].ends_with("\n\n")) << events[i];
    chunks.push_back(json::parse(events[i].substr(6)));
    EXPECT_EQ(chunks.back()["object"], "chat.completion.chunk");
    EXPECT_EQ(chunks.back()["id"], "c");
    EXPECT_EQ(chunks.back()["created"], 5);
  }
  EXPECT_EQ(chunks[0]["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(chunks[0]["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(chunks[0]["usage"].is_null());
  EXPECT_EQ(chunks[1]["choices"][0]["delta"], json({{"content", "hi"}}));
  EXPECT_EQ(chunks[2]["choices"][0]["delta"], json::object());
  EXPECT_EQ(chunks[2]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(chunks[3]["choices"].empty());
  EXPECT_EQ(chunks[3]["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(chunks[3]["usage"]["total_tokens"], 8);
  EXPECT_EQ(events[4], "data: [DONE]\n\n");
}

TEST(OpenAiWireTest, AToolCallStreamsItsNameFirstAndItsArgumentsAfter) {
  const std::vector<std::string> events = openai::EncodeStream(ToolCallReply(), {.pieces = 1});
  json head;
  for (const std::string& e : events) {
    if (e.find("\"name\":\"edit_file\"") != std::string::npos) head = json::parse(e.substr(6));
  }
  ASSERT_FALSE(head.is_null());
  EXPECT_EQ(head["choices"][0]["delta"]["tool_calls"][0],
            json({{"index", 0},
                  {"id", "call_0"},
                  {"type", "function"},
                  {"function", {{"name", "edit_file"}, {"arguments", ""}}}}));
}

TEST(AnthropicWireTest, AStreamIsAnthropicsEventsInAnthropicsOrder) {
  v1::ChatReply reply;
  reply.mutable_message()->set_content("hi");
  reply.set_finish_reason("stop");
  std::vector<std::string> names;
  for (const std::string& e : anthropic::EncodeStream(reply, {.id = "msg_1", .model = "claude"})) {
    ASSERT_TRUE(e.starts_with("event: ")) << e;
    const std::string name = e.substr(7, e.find('\n') - 7);
    const json data = json::parse(e.substr(e.find("data: ") + 6));
    EXPECT_EQ(data["type"], name) << "the data names its event";
    if (name == "message_start") {
      EXPECT_EQ(data["message"]["id"], "msg_1");
      EXPECT_EQ(data["message"]["role"], "assistant");
      EXPECT_TRUE(data["message"]["content"].empty());
    }
    if (name == "message_delta") {
      EXPECT_EQ(data["delta"]["stop_reason"], "end_turn");
    }
    names.push_back(name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"message_start", "ping", "content_block_start", "content_block_delta",
                                             "content_block_stop", "message_delta", "message_stop"}));
}

TEST(AnthropicWireTest, AWholeReplyIsAMessageWithContentBlocks) {
  json body = json::parse(
      anthropic::EncodeReply(ToolCallReply(), {.id = "msg_2", .model = "claude", .thinking_signature = "s"}));
  EXPECT_EQ(body["type"], "message");
  EXPECT_EQ(body["stop_reason"], "tool_use");
  ASSERT_EQ(body["content"].size(), 4u);
  EXPECT_EQ(body["content"][0],
            json({{"type", "thinking"}, {"thinking", "The cast dereferences address 0 — 零."}, {"signature", "s"}}));
  EXPECT_EQ(body["content"][1]["type"], "text");
  EXPECT_EQ(body["content"][2]["input"]["path"], "ünïcode.c");
  EXPECT_EQ(body["usage"]["input_tokens"], 200) << "input less what was read from the cache";
  EXPECT_EQ(body["usage"]["cache_read_input_tokens"], 1000);
}

TEST(AnthropicWireTest, AFinishReasonItDoesNotKnowComesBackUnchangedAndNullCountsAreZero) {
  v1::ChatReply reply = ToolCallReply();
  reply.set_finish_reason("refusal");
  absl::StatusOr<v1::ChatReply> back = anthropic::DecodeReply(anthropic::EncodeReply(reply, {}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->finish_reason(), "refusal");
  absl::StatusOr<v1::ChatReply> nulls =
      anthropic::DecodeReply(R"({"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":"end_turn",)"
                             R"("usage":{"input_tokens":5,"cache_read_input_tokens":null,"output_tokens":null}})");
  ASSERT_TRUE(nulls.ok()) << nulls.status();
  EXPECT_EQ(nulls->usage().input_tokens(), 5u);
  EXPECT_EQ(nulls->usage().output_tokens(), 0u);
}

TEST(OpenAiWireTest, AnOversizedTokenLimitIsClampedNotWrapped) {
  absl::StatusOr<openai::DecodedRequest> read =
      openai::DecodeRequest(R"({"max_tokens":4294967297,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->request.max_tokens(), 4294967295u);
}

TEST(SplitPiecesTest, NeverCutsACharacterAndJoinsToTheWhole) {
  const std::string text = "añ零✓b";
  for (int pieces : {1, 2, 3, 7, 100}) {
    std::string joined;
    for (const std::string& p : SplitPieces(text, pieces)) {
      ASSERT_FALSE(p.empty());
      EXPECT_NE(static_cast<unsigned char>(p[0]) & 0xC0, 0x80) << pieces;
      joined += p;
    }
    EXPECT_EQ(joined, text);
  }
  EXPECT_TRUE(SplitPieces("", 3).empty());
  EXPECT_GE(SplitPieces("ab", 3).size(), 2u);
}

}  // namespace
}  // namespace swarm
