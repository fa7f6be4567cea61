// The endpoint a command agent calls, over its real Unix socket, with the gateway behind it faked:
// what reaches the gateway, and the HTTP statuses and bodies the agent gets back.
#include "agents/model_endpoint.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using nlohmann::json;

class FakeModelClient final : public ModelClient {
 public:
  void Complete(const std::string& lease_id, std::uint64_t fence, v1::ChatRequest request, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back({lease_id, fence, std::move(request)});
    }
    done(answer);  // from the caller's thread: any thread may answer
  }
  struct Call {
    std::string lease_id;
    std::uint64_t fence;
    v1::ChatRequest request;
  };
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  absl::StatusOr<v1::ChatReply> answer;  // set before any request

 private:
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

struct Response {
  int status = 0;
  std::string content_type;
  std::string body;
};

class ModelEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto endpoint = ModelEndpoint::Start(io_, dir_.path(), client_, "lease-7", 3);
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    endpoint_ = std::move(*endpoint);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    endpoint_.reset();
  }

  // One HTTP/1.1 request over the socket, as curl --unix-socket sends it; the whole response.
  Response Send(const std::string& method, const std::string& target, const std::string& body) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, endpoint_->socket_path().c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0) << std::strerror(errno);
    const std::string request =
        method + " " + target + " HTTP/1.1\r\nHost: swarm\r\nContent-Type: application/json\r\n" +
        "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    std::string raw;
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) raw.append(buffer, static_cast<size_t>(n));
    close(fd);
    Response r;
    const size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) return r;
    const std::string head = raw.substr(0, head_end);
    r.status = std::stoi(head.substr(9, 3));
    if (size_t at = head.find("Content-Type: "); at != std::string::npos) {
      r.content_type = head.substr(at + 14, head.find("\r\n", at) - at - 14);
    }
    r.body = raw.substr(head_end + 4);
    return r;
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  FakeModelClient client_;
  std::unique_ptr<ModelEndpoint> endpoint_;
  std::thread thread_;
};

v1::ChatReply Reply() {
  v1::ChatReply reply;
  reply.mutable_message()->set_role("assistant");
  reply.mutable_message()->set_content("done");
  reply.set_finish_reason("stop");
  reply.mutable_usage()->set_input_tokens(10);
  reply.mutable_usage()->set_output_tokens(2);
  reply.set_cost_usd(0.5);
  reply.set_model("deepseek:deepseek-chat");
  return reply;
}

TEST_F(ModelEndpointTest, ARequestReachesTheGatewayUnderTheLeaseAndTheReplyComesBackAsOpenAiJson) {
  client_.answer = Reply();
  Response r = Send("POST", "/v1/chat/completions",
                    R"({"model":"x","max_tokens":50,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json body = json::parse(r.body);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "done");
  EXPECT_EQ(body["model"], "deepseek:deepseek-chat");
  EXPECT_EQ(body["swarm"]["cost_usd"], 0.5);
  ASSERT_EQ(client_.calls().size(), 1u);
  EXPECT_EQ(client_.calls()[0].lease_id, "lease-7");
  EXPECT_EQ(client_.calls()[0].fence, 3u);
  EXPECT_EQ(client_.calls()[0].request.messages(0).content(), "hi");
  EXPECT_EQ(client_.calls()[0].request.max_tokens(), 50u);
}

TEST_F(ModelEndpointTest, AStreamedRequestGetsAnEventStreamEndingInDone) {
  client_.answer = Reply();
  Response r = Send("POST", "/chat/completions", R"({"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  EXPECT_TRUE(r.body.starts_with("data: {"));
  EXPECT_TRUE(r.body.ends_with("data: [DONE]\n\n"));
  // The usage is the last chunk before [DONE].
  const size_t done = r.body.rfind("data: [DONE]");
  const size_t last = r.body.rfind("data: {", done);
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(json::parse(r.body.substr(last + 6, done - last - 8))["usage"]["prompt_tokens"], 10) << r.body;
}

TEST_F(ModelEndpointTest, EachGatewayRefusalHasTheStatusAClientMustNotRetryBlindly) {
  const std::string request = R"({"messages":[{"role":"user","content":"hi"}]})";
  struct Case {
    absl::Status error;
    int status;
  };
  for (const Case& c : {Case{absl::ResourceExhaustedError("the budget is spent"), 402},
                        Case{absl::FailedPreconditionError("the lease is gone"), 409},
                        Case{absl::InvalidArgumentError("too long"), 400},
                        Case{absl::DeadlineExceededError("slow"), 504}, Case{absl::UnavailableError("down"), 502}}) {
    client_.answer = c.error;
    Response r = Send("POST", "/v1/chat/completions", request);
    EXPECT_EQ(r.status, c.status) << c.error;
    json body = json::parse(r.body);
    EXPECT_EQ(body["error"]["message"], std::string(c.error.message()));
    EXPECT_EQ(body["error"]["type"], absl::StatusCodeToString(c.error.code()));
    EXPECT_EQ(body["error"]["code"], absl::AsciiStrToLower(absl::StatusCodeToString(c.error.code())));
  }
}

TEST_F(ModelEndpointTest, BadRequestsAndOtherPathsNeverReachTheGateway) {
  client_.answer = Reply();
  Response bad = Send("POST", "/v1/chat/completions", R"({"messages":[]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(json::parse(bad.body)["error"]["message"].get<std::string>().find("non-empty"), std::string::npos);
  EXPECT_EQ(Send("GET", "/v1/models", "").status, 404);
  EXPECT_EQ(Send("POST", "/v1/embeddings", "{}").status, 404);
  EXPECT_TRUE(client_.calls().empty());
}

}  // namespace
}  // namespace swarm
