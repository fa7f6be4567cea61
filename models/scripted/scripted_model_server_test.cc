#include "models/scripted/scripted_model_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/str_split.h"
#include "testing/test_ca.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::use_awaitable;
using asio::ip::tcp;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace std::chrono_literals;

struct Call {
  std::string conversation;
  std::string body = R"({"model":"m1","messages":[]})";
  std::string path = "/v1/chat/completions";
  std::string method = "POST";
  std::map<std::string, std::string> headers = {};
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // what arrived, even of a broken response
  bool complete = false;                       // the whole response arrived
  bool timed_out = false;
  std::string error;
};

Call Anthropic(std::string conversation, std::string body) {
  return Call{.conversation = std::move(conversation),
              .body = std::move(body),
              .path = "/v1/messages",
              .headers = {{"anthropic-version", "2023-06-01"}}};
}

// One HTTP/1.1 connection to the server, plain or TLS; opened by the first Send, reused after.
class TestClient {
 public:
  explicit TestClient(int port, asio::ssl::context* tls = nullptr, std::string server_name = "localhost")
      : port_(port), server_name_(std::move(server_name)) {
    if (tls != nullptr) tls_stream_.emplace(socket_, *tls);
  }

  // Gives up after `limit`, closing the connection.
  Reply Send(const Call& call, std::chrono::milliseconds limit = 3s) {
    std::optional<Reply> reply;
    asio::co_spawn(io_, Exchange(call), [&](std::exception_ptr e, Reply r) {
      reply = std::move(r);
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          reply->error = x.what();
        }
      }
    });
    io_.run_for(limit);
    if (!reply) {
      boost::system::error_code ignored;
      socket_.close(ignored);
      io_.restart();
      io_.run();
      reply->timed_out = true;
    }
    io_.restart();
    return *reply;
  }

 private:
  asio::awaitable<Reply> Exchange(Call call) {
    if (!connected_) {
      co_await socket_.async_connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)},
                                     use_awaitable);
      connected_ = true;
      if (tls_stream_) {
        SSL_set_tlsext_host_name(tls_stream_->native_handle(), server_name_.c_str());
        tls_stream_->set_verify_mode(asio::ssl::verify_peer);
        tls_stream_->set_verify_callback(asio::ssl::host_name_verification(server_name_));
        co_await tls_stream_->async_handshake(asio::ssl::stream_base::client, use_awaitable);
      }
    }
    if (tls_stream_) co_return co_await Exchange(*tls_stream_, call);
    co_return co_await Exchange(socket_, call);
  }

  template <class Stream>
  asio::awaitable<Reply> Exchange(Stream& stream, const Call& call) {
    http::request<http::string_body> request(http::string_to_verb(call.method), call.path, 11);
    request.set(http::field::host, "localhost");
    request.set(http::field::content_type, "application/json");
    if (!call.conversation.empty()) request.set("x-swarm-conversation", call.conversation);
    for (const auto& [name, value] : call.headers) request.set(name, value);
    request.body() = call.body;
    request.prepare_payload();
    co_await http::async_write(stream, request, use_awaitable);

    http::response_parser<http::string_body> parser;
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer_, parser, asio::redirect_error(use_awaitable, ec));
    Reply reply;
    reply.complete = !ec;
    reply.error = ec.message();
    reply.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      reply.headers[name] = std::string(field.value());
    }
    reply.body = parser.get().body();
    co_return reply;
  }

  const int port_;
  const std::string server_name_;
  asio::io_context io_;
  tcp::socket socket_{io_};
  std::optional<asio::ssl::stream<tcp::socket&>> tls_stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

std::unique_ptr<ScriptedModelServer> StartServer(const std::string& script,
                                                 ScriptedServerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<ScriptedModelServer>> server =
      ScriptedModelServer::Start(script, std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

Reply SendOne(const ScriptedModelServer& server, const Call& call,
              std::chrono::milliseconds limit = 3s) {
  return TestClient(server.port()).Send(call, limit);
}

struct SseEvent {
  std::string name;  // "" when the event has no event: line (OpenAI)
  std::string data;
};

std::vector<SseEvent> ParseSse(const std::string& body) {
  std::vector<SseEvent> events;
  for (absl::string_view block : absl::StrSplit(body, "\n\n", absl::SkipEmpty())) {
    SseEvent event;
    for (absl::string_view line : absl::StrSplit(block, '\n')) {
      if (absl::ConsumePrefix(&line, "event: ")) event.name = std::string(line);
      if (absl::ConsumePrefix(&line, "data: ")) event.data = std::string(line);
    }
    events.push_back(event);
  }
  return events;
}

// OpenAI stream chunks, without the final [DONE].
std::vector<json> OpenAiChunks(const std::string& body) {
  std::vector<json> chunks;
  for (const SseEvent& event : ParseSse(body)) {
    if (event.data != "[DONE]") chunks.push_back(json::parse(event.data));
  }
  return chunks;
}

constexpr char kToolStep[] = R"({
  "content": "I will edit the file now.",
  "reasoning": "The bug is in a.c.",
  "tool_calls": [{"name": "edit_file", "arguments": {"path": "a.c", "text": "int x = 1;\n"}}],
  "usage": {"input": 100, "cached": 80, "cache_write": 5, "output": 20}
})";

std::string OneStepScript(const std::string& step) {
  return R"({"conversations": {"t1": [)" + step + "]}}";
}

TEST(ScriptedModelServerTest, OpenAiReplyHasContentToolCallsAndUsage) {
  auto server = StartServer(OneStepScript(kToolStep));
  Reply reply = SendOne(*server, {.conversation = "t1"});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.headers["content-type"], "application/json");
  json body = json::parse(reply.body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "m1");
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], "I will edit the file now.");
  EXPECT_EQ(choice["message"]["reasoning_content"], "The bug is in a.c.");
  const json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_FALSE(call["id"].get<std::string>().empty());
  EXPECT_EQ(call["function"]["name"], "edit_file");
  ASSERT_TRUE(call["function"]["arguments"].is_string());
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()),
            json({{"path", "a.c"}, {"text", "int x = 1;\n"}}));
  EXPECT_EQ(body["usage"], json::parse(R"({"prompt_tokens": 100, "completion_tokens": 20,
      "total_tokens": 120, "prompt_tokens_details": {"cached_tokens": 80}})"));
  EXPECT_THAT(server->unexpected(), IsEmpty());
}

TEST(ScriptedModelServerTest, OpenAiStreamReassemblesToTheSameReply) {
  auto server = StartServer(OneStepScript(kToolStep));
  Reply reply = SendOne(*server, {.conversation = "t1",
                                  .body = R"({"model":"m1","stream":true,
                                              "stream_options":{"include_usage":true}})"});
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(reply.complete) << reply.error;
  EXPECT_EQ(reply.headers["content-type"], "text/event-stream");
  EXPECT_EQ(reply.headers["transfer-encoding"], "chunked");
  EXPECT_TRUE(reply.body.ends_with("data: [DONE]\n\n"));

  std::vector<json> chunks = OpenAiChunks(reply.body);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks[0]["choices"][0]["delta"]["role"], "assistant");
  std::string content, reasoning, arguments, finish_reason;
  int content_pieces = 0, argument_pieces = 0;
  for (const json& chunk : chunks) {
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk["choices"].empty()) continue;
    const json& choice = chunk["choices"][0];
    const json& delta = choice["delta"];
    if (delta.contains("content")) content += delta["content"].get<std::string>(), ++content_pieces;
    if (delta.contains("reasoning_content")) reasoning += delta["reasoning_content"].get<std::string>();
    if (delta.contains("tool_calls")) {
      const json& call = delta["tool_calls"][0];
      EXPECT_EQ(call["index"], 0);
      if (call.contains("id")) {  // the first delta of a call names it
        EXPECT_EQ(call["type"], "function");
        EXPECT_EQ(call["function"]["name"], "edit_file");
      }
      const std::string piece = call["function"]["arguments"];
      if (!piece.empty()) ++argument_pieces;
      arguments += piece;
    }
    if (!choice["finish_reason"].is_null()) finish_reason = choice["finish_reason"];
  }
  EXPECT_EQ(content, "I will edit the file now.");
  EXPECT_GE(content_pieces, 3);  // the role delta's "" and 2+ pieces
  EXPECT_EQ(reasoning, "The bug is in a.c.");
  EXPECT_GE(argument_pieces, 2);
  EXPECT_EQ(json::parse(arguments), json({{"path", "a.c"}, {"text", "int x = 1;\n"}}));
  EXPECT_EQ(finish_reason, "tool_calls");
  const json& last = chunks.back();
  EXPECT_THAT(last["choices"], IsEmpty());
  EXPECT_EQ(last["usage"]["prompt_tokens"], 100);
  EXPECT_EQ(last["usage"]["prompt_tokens_details"]["cached_tokens"], 80);
}

TEST(ScriptedModelServerTest, OpenAiStreamSendsUsageOnlyWhenAsked) {
  auto server = StartServer(OneStepScript(R"({"content": "hi"})"));
  Reply reply = SendOne(*server, {.conversation = "t1", .body = R"({"model":"m1","stream":true})"});
  for (const json& chunk : OpenAiChunks(reply.body)) {
    EXPECT_FALSE(chunk.contains("usage")) << chunk;
    EXPECT_THAT(chunk["choices"], SizeIs(1));
  }
}

TEST(ScriptedModelServerTest, AnthropicReplyHasBlocksAndCacheUsage) {
  auto server = StartServer(OneStepScript(kToolStep));
  Reply reply = SendOne(*server, Anthropic("t1", R"({"model":"claude-x","messages":[]})"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = json::parse(reply.body);
  EXPECT_EQ(body["type"], "message");
  EXPECT_EQ(body["role"], "assistant");
  EXPECT_EQ(body["model"], "claude-x");
  EXPECT_EQ(body["stop_reason"], "tool_use");
  ASSERT_THAT(body["content"], SizeIs(3));
  EXPECT_EQ(body["content"][0], json::parse(R"({"type":"thinking","thinking":"The bug is in a.c.",
                                                "signature":"sig"})"));
  EXPECT_EQ(body["content"][1], json::parse(R"({"type":"text","text":"I will edit the file now."})"));
  EXPECT_EQ(body["content"][2]["type"], "tool_use");
  EXPECT_THAT(body["content"][2]["id"].get<std::string>(), ::testing::StartsWith("toolu_"));
  EXPECT_EQ(body["content"][2]["name"], "edit_file");
  EXPECT_EQ(body["content"][2]["input"], json({{"path", "a.c"}, {"text", "int x = 1;\n"}}));
  // input_tokens leaves out cached and cache-written tokens: 100 - 80 - 5.
  EXPECT_EQ(body["usage"], json::parse(R"({"input_tokens": 15, "cache_read_input_tokens": 80,
      "cache_creation_input_tokens": 5, "output_tokens": 20})"));
}

TEST(ScriptedModelServerTest, AnthropicStreamReassemblesToTheSameReply) {
  auto server = StartServer(OneStepScript(kToolStep));
  Reply reply = SendOne(*server, Anthropic("t1", R"({"model":"claude-x","stream":true})"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(reply.complete) << reply.error;
  EXPECT_EQ(reply.headers["content-type"], "text/event-stream");

  std::vector<SseEvent> events = ParseSse(reply.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().name, "message_start");
  EXPECT_EQ(events.back().name, "message_stop");
  std::map<int, std::string> block_types, text, partial_json;
  std::map<int, int> json_pieces;
  bool ping = false;
  std::string stop_reason;
  for (const SseEvent& event : events) {
    json data = json::parse(event.data);
    EXPECT_EQ(data["type"], event.name);
    if (event.name == "ping") ping = true;
    if (event.name == "message_start") {
      EXPECT_EQ(data["message"]["usage"]["input_tokens"], 15);
      EXPECT_EQ(data["message"]["usage"]["cache_read_input_tokens"], 80);
      EXPECT_EQ(data["message"]["usage"]["cache_creation_input_tokens"], 5);
    }
    if (event.name == "content_block_start") {
      block_types[data["index"]] = data["content_block"]["type"];
    }
    if (event.name == "content_block_delta") {
      const json& delta = data["delta"];
      if (delta["type"] == "thinking_delta") text[data["index"]] += delta["thinking"].get<std::string>();
      if (delta["type"] == "text_delta") text[data["index"]] += delta["text"].get<std::string>();
      if (delta["type"] == "input_json_delta") {
        partial_json[data["index"]] += delta["partial_json"].get<std::string>();
        ++json_pieces[data["index"]];
      }
    }
    if (event.name == "message_delta") {
      stop_reason = data["delta"]["stop_reason"];
      EXPECT_EQ(data["usage"]["output_tokens"], 20);
    }
  }
  EXPECT_TRUE(ping);
  EXPECT_EQ(block_types, (std::map<int, std::string>{{0, "thinking"}, {1, "text"}, {2, "tool_use"}}));
  EXPECT_EQ(text[0], "The bug is in a.c.");
  EXPECT_EQ(text[1], "I will edit the file now.");
  EXPECT_GE(json_pieces[2], 2);
  EXPECT_EQ(json::parse(partial_json[2]), json({{"path", "a.c"}, {"text", "int x = 1;\n"}}));
  EXPECT_EQ(stop_reason, "tool_use");
}

TEST(ScriptedModelServerTest, UsageNotScriptedIsDerivedFromSizes) {
  auto server = StartServer(OneStepScript(R"({"content": "0123456789abcdef"})"));
  Call call{.conversation = "t1", .body = R"({"model":"m","messages":[{"role":"user","content":"0123456789"}]})"};
  json body = json::parse(SendOne(*server, call).body);
  EXPECT_EQ(body["usage"]["prompt_tokens"], call.body.size() / 4);
  EXPECT_EQ(body["usage"]["completion_tokens"], 4);
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
}

std::string ContentOf(const Reply& reply) {
  return json::parse(reply.body)["choices"][0]["message"]["content"];
}

TEST(ScriptedModelServerTest, ConversationsAreAnsweredInTheirOwnOrder) {
  auto server = StartServer(R"({"conversations": {
      "A": [{"content": "a1"}, {"content": "a2"}],
      "B": [{"content": "b1"}, {"content": "b2"}]}})");
  TestClient client(server->port());
  EXPECT_EQ(ContentOf(client.Send({.conversation = "A"})), "a1");
  EXPECT_EQ(ContentOf(client.Send({.conversation = "B"})), "b1");
  EXPECT_EQ(ContentOf(client.Send({.conversation = "B"})), "b2");
  EXPECT_EQ(ContentOf(client.Send({.conversation = "A"})), "a2");
  EXPECT_THAT(server->unexpected(), IsEmpty());
}

TEST(ScriptedModelServerTest, DefaultStepAnswersUnlistedConversationsAnyNumberOfTimes) {
  auto server = StartServer(R"({"conversations": {"A": [{"content": "a1"}]},
                                "default": {"content": "anything"}})");
  TestClient client(server->port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ContentOf(client.Send({.conversation = "check"})), "anything");
  EXPECT_EQ(ContentOf(client.Send({.conversation = "A"})), "a1");
  // A listed conversation does not fall back to the default once its steps run out.
  EXPECT_EQ(client.Send({.conversation = "A"}).status, 500);
  EXPECT_THAT(server->unexpected(), SizeIs(1));
}

TEST(ScriptedModelServerTest, CallsWithoutAScriptedAnswerAreRecorded) {
  auto server = StartServer(R"({"conversations": {"A": [{"content": "a1"}, {"expect": "needle"}]}})");
  TestClient client(server->port());
  EXPECT_EQ(client.Send({.conversation = "A"}).status, 200);
  Reply missing_expect = client.Send({.conversation = "A", .body = R"({"model":"m","x":"hay"})"});
  EXPECT_EQ(missing_expect.status, 500);
  EXPECT_EQ(client.Send({.conversation = "A"}).status, 500);
  EXPECT_EQ(client.Send({.conversation = "nobody"}).status, 500);
  EXPECT_EQ(client.Send({.conversation = "A", .path = "/v1/models", .method = "GET"}).status, 404);
  EXPECT_THAT(server->unexpected(),
              ElementsAre(HasSubstr("conversation \"A\" call 2: POST /v1/chat/completions: the "
                                    "request does not contain \"needle\""),
                          HasSubstr("conversation \"A\" call 3: POST /v1/chat/completions: the "
                                    "script has no step"),
                          HasSubstr("conversation \"nobody\" call 1"),
                          HasSubstr("GET /v1/models: no such endpoint")));
  json error = json::parse(missing_expect.body);
  EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr("needle"));
}

TEST(ScriptedModelServerTest, RequestsAreRecordedInArrivalOrder) {
  auto server = StartServer(R"({"default": {"content": "ok"}})");
  SendOne(*server, {.conversation = "one", .headers = {{"X-Custom", "v"}}});
  SendOne(*server, Anthropic("two", "{}"));
  std::vector<ScriptedModelServer::SeenRequest> seen = server->requests();
  ASSERT_THAT(seen, SizeIs(2));
  EXPECT_EQ(seen[0].conversation, "one");
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/v1/chat/completions");
  EXPECT_EQ(seen[0].headers["x-custom"], "v");
  EXPECT_EQ(seen[0].body, Call{}.body);
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_EQ(seen[1].conversation, "two");
  EXPECT_EQ(seen[1].path, "/v1/messages");
}

TEST(ScriptedModelServerTest, RateLimitAnswers429ThenTheRetryGetsTheNextStep) {
  auto server = StartServer(R"({"conversations": {
      "A": [{"fault": "rate_limit", "retry_after": 2, "retry_after_ms": 1500,
             "headers": {"x-ratelimit-remaining-requests": "0"}}, {"content": "after"}],
      "B": [{"fault": "rate_limit", "retry_after": 1}]}})");
  Reply limited = SendOne(*server, {.conversation = "A"});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers["retry-after"], "2");
  EXPECT_EQ(limited.headers["retry-after-ms"], "1500");
  EXPECT_EQ(limited.headers["x-ratelimit-remaining-requests"], "0");
  EXPECT_EQ(json::parse(limited.body)["error"]["code"], "rate_limit_exceeded");
  EXPECT_EQ(ContentOf(SendOne(*server, {.conversation = "A"})), "after");

  Reply anthropic = SendOne(*server, Anthropic("B", "{}"));
  EXPECT_EQ(anthropic.status, 429);
  EXPECT_EQ(json::parse(anthropic.body),
            json::parse(R"({"type":"error","error":{"type":"rate_limit_error",
                                                    "message":"scripted rate limit"}})"));
  EXPECT_THAT(server->unexpected(), IsEmpty());
}

TEST(ScriptedModelServerTest, ServerErrorIsAScriptedAnswerNotAnUnexpectedCall) {
  auto server = StartServer(OneStepScript(R"({"fault": "server_error"})"));
  Reply reply = SendOne(*server, {.conversation = "t1"});
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(json::parse(reply.body)["error"]["type"], "server_error");
  EXPECT_THAT(server->unexpected(), IsEmpty());
}

TEST(ScriptedModelServerTest, NotJsonSendsHtmlLabelledAsJson) {
  auto server = StartServer(OneStepScript(R"({"fault": "not_json"})"));
  Reply reply = SendOne(*server, {.conversation = "t1"});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["content-type"], "application/json");
  EXPECT_EQ(reply.body, "<html>upstream error</html>");
}

TEST(ScriptedModelServerTest, TruncatedStreamStopsBeforeItsEnd) {
  auto server = StartServer(R"({"conversations": {"A": [{"content": "hello there", "fault": "truncate"}],
                                                  "B": [{"content": "hello there", "fault": "truncate"}]}})");
  Reply openai = SendOne(*server, {.conversation = "A", .body = R"({"stream":true})"});
  EXPECT_EQ(openai.status, 200);
  EXPECT_FALSE(openai.complete);
  EXPECT_THAT(openai.body, HasSubstr("chat.completion.chunk"));
  EXPECT_THAT(openai.body, ::testing::Not(HasSubstr("[DONE]")));

  Reply anthropic = SendOne(*server, Anthropic("B", R"({"stream":true})"));
  EXPECT_FALSE(anthropic.complete);
  EXPECT_THAT(anthropic.body, HasSubstr("message_start"));
  EXPECT_THAT(anthropic.body, ::testing::Not(HasSubstr("message_stop")));
}

TEST(ScriptedModelServerTest, TruncatedReplyPromisesMoreThanItSends) {
  auto server = StartServer(OneStepScript(R"({"content": "hello there", "fault": "truncate"})"));
  Reply reply = SendOne(*server, {.conversation = "t1"});
  EXPECT_FALSE(reply.complete);
  EXPECT_LT(reply.body.size(), std::stoul(reply.headers["content-length"]));
}

TEST(ScriptedModelServerTest, MalformedToolArgumentsAreNotJson) {
  const std::string step = R"({"tool_calls": [{"name": "edit_file", "arguments": {"path": "a.c"}}],
                               "fault": "malformed_tool_args"})";
  auto server = StartServer(R"({"default": )" + step + "}");
  auto is_json = [](const std::string& text) { return json::accept(text); };

  json openai = json::parse(SendOne(*server, {.conversation = "x"}).body);
  const std::string arguments = openai["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"];
  EXPECT_EQ(arguments, R"({"path":"a.c")");

  json anthropic = json::parse(SendOne(*server, Anthropic("x", "{}")).body);
  ASSERT_TRUE(anthropic["content"][0]["input"].is_string()) << anthropic;
  EXPECT_FALSE(is_json(anthropic["content"][0]["input"]));

  std::string partial_json;
  for (const SseEvent& event : ParseSse(SendOne(*server, Anthropic("x", R"({"stream":true})")).body)) {
    json data = json::parse(event.data);
    if (data.contains("delta") && data["delta"].contains("partial_json")) {
      partial_json += data["delta"]["partial_json"].get<std::string>();
    }
  }
  EXPECT_EQ(partial_json, R"({"path":"a.c")");
  EXPECT_FALSE(is_json(partial_json));
}

TEST(ScriptedModelServerTest, StalledCallBlocksNeitherOtherCallsNorShutdown) {
  auto server = StartServer(R"({"conversations": {"slow": [{"fault": "stall"}]},
                                "default": {"content": "fast"}})");
  std::thread stalled([&] {
    Reply reply = SendOne(*server, {.conversation = "slow"}, 10s);
    EXPECT_FALSE(reply.complete);  // the server closed it on shutdown
  });
  while (server->requests().empty()) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ContentOf(SendOne(*server, {.conversation = "other"})), "fast");
  Reply gave_up = SendOne(*server, {.conversation = "slow"}, 100ms);
  EXPECT_EQ(gave_up.status, 500);  // its one step is used up by now

  const auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  stalled.join();
}

TEST(ScriptedModelServerTest, StalledCallTimesOutOnTheClient) {
  auto server = StartServer(OneStepScript(R"({"fault": "stall"})"));
  Reply reply = SendOne(*server, {.conversation = "t1"}, 200ms);
  EXPECT_TRUE(reply.timed_out);
  EXPECT_EQ(server->requests().at(0).status, 0);
}

TEST(ScriptedModelServerTest, ApiKeyIsRequiredInEachProvidersHeader) {
  auto server = StartServer(R"({"api_key": "sk-test", "default": {"content": "ok"}})");
  Reply no_key = SendOne(*server, {.conversation = "c"});
  EXPECT_EQ(no_key.status, 401);
  EXPECT_EQ(json::parse(no_key.body)["error"]["type"], "invalid_request_error");
  EXPECT_EQ(SendOne(*server, {.conversation = "c", .headers = {{"Authorization", "Bearer sk-test"}}}).status,
            200);

  Call anthropic = Anthropic("c", "{}");
  anthropic.headers["Authorization"] = "Bearer sk-test";  // not where Anthropic looks
  Reply wrong_header = SendOne(*server, anthropic);
  EXPECT_EQ(wrong_header.status, 401);
  EXPECT_EQ(json::parse(wrong_header.body)["error"]["type"], "authentication_error");
  anthropic.headers["x-api-key"] = "sk-test";
  EXPECT_EQ(SendOne(*server, anthropic).status, 200);

  EXPECT_THAT(server->unexpected(), IsEmpty());
  ASSERT_THAT(server->requests(), SizeIs(4));
  EXPECT_EQ(server->requests()[0].status, 401);
}

TEST(ScriptedModelServerTest, AnthropicWithoutVersionHeaderIsABadRequest) {
  auto server = StartServer(R"({"default": {"content": "ok"}})");
  Call call = Anthropic("c", "{}");
  call.headers.clear();
  Reply reply = SendOne(*server, call);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(json::parse(reply.body)["error"]["type"], "invalid_request_error");
  EXPECT_THAT(server->unexpected(), ElementsAre(HasSubstr("anthropic-version")));
}

TEST(ScriptedModelServerTest, KeepAliveConnectionCarriesSeveralRequests) {
  auto server = StartServer(R"({"default": {"content": "ok"}})");
  TestClient client(server->port());
  EXPECT_EQ(client.Send({.conversation = "c"}).status, 200);
  EXPECT_EQ(client.Send({.conversation = "c", .body = R"({"stream":true})"}).status, 200);
  EXPECT_EQ(client.Send(Anthropic("c", "{}")).status, 200);
  EXPECT_EQ(server->connections_accepted(), 1);
}

TEST(ScriptedModelServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  auto server = StartServer(R"({"default": {"content": "ok"}})");
  const std::string body = R"({"model":"m"})";
  asio::io_context io;
  tcp::socket socket(io);
  std::string interim, rest;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await socket.async_connect(
            {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(server->port())}, use_awaitable);
        const std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                                 "Expect: 100-continue\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(head), use_awaitable);
        co_await asio::async_read_until(socket, asio::dynamic_buffer(interim), "\r\n\r\n", use_awaitable);
        co_await asio::async_write(socket, asio::buffer(body), use_awaitable);
        co_await asio::async_read_until(socket, asio::dynamic_buffer(rest), "\"ok\"", use_awaitable);
      },
      asio::detached);
  io.run_for(2s);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_THAT(rest, ::testing::StartsWith("HTTP/1.1 200 OK"));
}

TEST(ScriptedModelServerTest, DelayedCallsOverlap) {
  auto server = StartServer(R"({"default": {"content": "ok", "delay_ms": 300}})");
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      EXPECT_EQ(SendOne(*server, {.conversation = "c" + std::to_string(i)}).status, 200);
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(server->max_concurrent(), 8);
  EXPECT_EQ(server->connections_accepted(), 8);
}

TEST(ScriptedModelServerTest, ManyConcurrentCallersEachGetTheirOwnSequence) {
  constexpr int kCallers = 32;
  json script;
  for (int i = 0; i < kCallers; ++i) {
    for (int step = 0; step < 3; ++step) {
      script["conversations"]["c" + std::to_string(i)].push_back(
          {{"content", "c" + std::to_string(i) + "/" + std::to_string(step)}});
    }
  }
  auto server = StartServer(script.dump());
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      TestClient client(server->port());
      for (int step = 0; step < 3; ++step) {
        EXPECT_EQ(ContentOf(client.Send({.conversation = "c" + std::to_string(i)})),
                  "c" + std::to_string(i) + "/" + std::to_string(step));
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_THAT(server->unexpected(), IsEmpty());
  EXPECT_EQ(server->connections_accepted(), kCallers);
}

TEST(ScriptedModelServerTest, HttpsIsVerifiedAgainstTheTestCa) {
  testing::TempDir dir;
  absl::StatusOr<testing::TestCa> ca = testing::MakeTestCa(dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto server = StartServer(R"({"default": {"content": "secure"}})",
                            {.cert_file = ca->server_cert, .key_file = ca->server_key});
  EXPECT_EQ(server->base_url(), "https://localhost:" + std::to_string(server->port()) + "/v1");
  asio::ssl::context trust(asio::ssl::context::tls_client);
  trust.load_verify_file(ca->ca_cert);

  TestClient client(server->port(), &trust);
  EXPECT_EQ(ContentOf(client.Send({.conversation = "c"})), "secure");
  EXPECT_EQ(client.Send({.conversation = "c", .body = R"({"stream":true})"}).status, 200);
  EXPECT_EQ(server->connections_accepted(), 1);

  auto wrong = StartServer(R"({"default": {"content": "secure"}})",
                           {.cert_file = ca->wrong_cert, .key_file = ca->wrong_key});
  Reply refused = TestClient(wrong->port(), &trust).Send({.conversation = "c"});
  EXPECT_EQ(refused.status, 0);
  EXPECT_THAT(refused.error, HasSubstr("certificate verify failed"));
  EXPECT_THAT(wrong->requests(), IsEmpty());
}

TEST(ScriptedModelServerTest, PlainBaseUrlNamesTheAddress) {
  auto server = StartServer("{}");
  EXPECT_EQ(server->base_url(), "http://127.0.0.1:" + std::to_string(server->port()) + "/v1");
}

TEST(ScriptedModelServerTest, BadScriptsAreRefusedWithTheStepAtFault) {
  struct Case {
    std::string script;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"{", "script is not JSON"},
      {R"({"default": {"delay_ms": 1e99999}})", "script is not JSON"},  // a number too large: no crash
      {"[]", "top level: must be an object"},
      {R"({"conversation": {}})", "unknown key \"conversation\""},
      {R"({"conversations": {"A": {}}})", "conversation \"A\": must be an array"},
      {R"({"conversations": {"A": [{}, {"fault": "explode"}]}})",
       "conversation \"A\" step 2: \"fault\" must be one of"},
      {R"({"conversations": {"A": [{"contents": "x"}]}})", "conversation \"A\" step 1: unknown key \"contents\""},
      {R"({"conversations": {"A": [{"content": 3}]}})", "\"content\" must be a string"},
      {R"({"conversations": {"A": [{"delay_ms": -1}]}})", "\"delay_ms\" must be an integer"},
      {R"({"conversations": {"A": [{"tool_calls": [{"arguments": {}}]}]}})",
       "conversation \"A\" step 1 tool call 1: \"name\" must be a non-empty string"},
      {R"({"conversations": {"A": [{"tool_calls": [{"name": "f", "arguments": "{}"}]}]}})",
       "\"arguments\" must be a JSON object"},
      {R"({"conversations": {"A": [{"usage": {"input": 5, "cached": 6}}]}})", "exceed \"input\""},
      {R"({"conversations": {"A": [{"retry_after": 1}]}})", "need \"fault\": \"rate_limit\""},
      {R"({"conversations": {"A": [{"finish_reason": "done"}]}})", "\"finish_reason\" must be one of"},
      {R"({"default": {"headers": {"x": 1}}})", "default step: header \"x\" must have a string value"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<ScriptedModelServer>> server = ScriptedModelServer::Start(c.script);
    ASSERT_FALSE(server.ok()) << c.script;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(server.status().message(), HasSubstr(c.error)) << c.script;
  }
}

TEST(ScriptedModelServerTest, StartFromFileNamesTheFileInErrors) {
  testing::TempDir dir;
  testing::WriteFile(dir / "good.json", R"({"default": {"content": "from file"}})");
  testing::WriteFile(dir / "bad.json", R"({"default": {"fault": 1}})");
  auto good = ScriptedModelServer::StartFromFile(dir / "good.json");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(ContentOf(SendOne(**good, {.conversation = "c"})), "from file");
  auto bad = ScriptedModelServer::StartFromFile(dir / "bad.json");
  EXPECT_THAT(bad.status().message(), HasSubstr(dir / "bad.json: script: default step"));
  EXPECT_EQ(ScriptedModelServer::StartFromFile(dir / "missing.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace swarm
