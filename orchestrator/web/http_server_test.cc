#include "orchestrator/web/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "testing/test_ca.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using testing::MachineAddress;

int PortOf(const std::string& url) {
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(url.substr(url.rfind(':') + 1), &port)) << url;
  return port;
}

// One plain request on a connection of its own, for Host `host`.
http::response<http::string_body> Get(int port, const std::string& target, const std::string& extra_header = "",
                                      const std::string& host = "127.0.0.1") {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> request(http::verb::get, target, 11);
  request.set(http::field::host, host);
  if (!extra_header.empty()) request.set("X-Extra", extra_header);
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

HttpServer::Handler Echo() {
  return [](const WebRequest& r) {
    WebResponse out = WebResponse::Text(r.path == "/missing" ? 404 : 200, r.method + " " + r.path + " ? " + r.query);
    out.headers.emplace_back("X-Seen-Host", r.Header("host"));
    return out;
  };
}

TEST(HttpServerTest, AnswersWithTheHandlerAndHardenedHeaders) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start({.listen = "127.0.0.1:0"}, Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->url().rfind("http://127.0.0.1:", 0), 0u) << (*server)->url();
  const int port = PortOf((*server)->url());
  ASSERT_GT(port, 0);
  auto r = Get(port, "/a/b?x=1&y=2");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "GET /a/b ? x=1&y=2");
  EXPECT_EQ(r["X-Seen-Host"], "127.0.0.1");
  EXPECT_EQ(r["Cache-Control"], "no-store");
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_NE(std::string(r["Content-Security-Policy"]).find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(Get(port, "/missing").result_int(), 404);
}

TEST(HttpServerTest, ALoopbackServerAnswersOnlyRequestsForALoopbackHost) {
  auto server = HttpServer::Start({.listen = "127.0.0.1:0"}, Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = PortOf((*server)->url());
  EXPECT_EQ(Get(port, "/x", "", "localhost:" + std::to_string(port)).result_int(), 200);
  EXPECT_EQ(Get(port, "/x", "", "[::1]:80").result_int(), 200);
  EXPECT_EQ(Get(port, "/x", "", "LOCALHOST.:" + std::to_string(port)).result_int(), 200);
  // A page of another site that rebound its name to 127.0.0.1 sends its own name.
  auto rebound = Get(port, "/x", "", "evil.example:" + std::to_string(port));
  EXPECT_EQ(rebound.result_int(), 421);
  EXPECT_EQ(rebound.body().find("GET /x"), std::string::npos);
}

// Opens `n` idle connections to `address`:`port`; returns how many the server closed at once (waiting
// up to 5 s for `expected` of them, well within the 10 s it gives a request's head).
int ClosedAtOnce(const std::string& address, int port, int n, int expected) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < n; ++i) {
    idle.push_back(std::make_unique<tcp::socket>(io));
    idle.back()->connect(tcp::endpoint(asio::ip::make_address(address), static_cast<unsigned short>(port)));
  }
  int closed = 0;
  for (int tries = 0; tries < 50; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    closed = 0;
    for (auto& s : idle) {
      pollfd p{.fd = s->native_handle(), .events = POLLIN, .revents = 0};
      char c;
      if (poll(&p, 1, 0) == 1 && recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) ++closed;
    }
    if (closed >= expected) break;
  }
  return closed;
}

TEST(HttpServerTest, ConnectionsAreCappedInAllAndOnAPublicAddressPerClient) {
  auto local = HttpServer::Start({.listen = "127.0.0.1:0"}, Echo());
  ASSERT_TRUE(local.ok()) << local.status();
  // On loopback every client is 127.0.0.1: only the total is capped.
  EXPECT_EQ(ClosedAtOnce("127.0.0.1", PortOf((*local)->url()), 300, 300 - 256), 300 - 256);

  const std::string address = MachineAddress();
  ASSERT_FALSE(address.empty()) << "the machine has no address beyond loopback";
  testing::TempDir dir;
  absl::StatusOr<testing::TestCa> ca = testing::MakeTestCa(dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto exposed =
      HttpServer::Start({.listen = address + ":0", .tls_cert = ca->server_cert, .tls_key = ca->server_key}, Echo());
  ASSERT_TRUE(exposed.ok()) << exposed.status();
  // One client cannot hold every connection: past 16, its connections are closed at once.
  EXPECT_EQ(ClosedAtOnce(address, PortOf((*exposed)->url()), 40, 40 - 16), 40 - 16);
}

TEST(HttpServerTest, ServesSeveralRequestsOnOneConnection) {
  auto server = HttpServer::Start({.listen = "127.0.0.1:0"}, Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(PortOf((*server)->url()))));
  beast::flat_buffer buffer;
  for (const char* path : {"/one", "/two"}) {
    http::request<http::string_body> request(http::verb::get, path, 11);
    http::write(socket, request);
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    EXPECT_EQ(response.body(), std::string("GET ") + path + " ? ");
  }
}

TEST(HttpServerTest, ARequestTooLargeGets413) {
  auto server = HttpServer::Start({.listen = "127.0.0.1:0"}, Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  auto r = Get(PortOf((*server)->url()), "/x", std::string(16 << 10, 'a'));
  EXPECT_EQ(r.result_int(), 413);
}

TEST(HttpServerTest, BadAddressesAreRefusedNamingThem) {
  for (const char* bad : {"nope", "127.0.0.1", ":80", "127.0.0.1:99999", "::1:80", "127.0.0.1:8x", "[::1:80"}) {
    auto server = HttpServer::Start({.listen = bad}, Echo());
    ASSERT_FALSE(server.ok()) << bad;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(server.status().message().find(bad), std::string::npos) << server.status();
  }
}

TEST(HttpServerTest, ANonLoopbackAddressNeedsTls) {
  auto server = HttpServer::Start({.listen = "0.0.0.0:0"}, Echo());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("TLS"), std::string::npos) << server.status();
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("192.168.1.1"));
}

TEST(HttpServerTest, ServesTlsWithTheGivenCertificate) {
  testing::TempDir dir;
  absl::StatusOr<testing::TestCa> ca = testing::MakeTestCa(dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  const std::string cert = ca->server_cert, key = ca->server_key;
  auto server = HttpServer::Start({.listen = "127.0.0.1:0", .tls_cert = cert, .tls_key = key}, Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->url().rfind("https://", 0), 0u);
  const int port = PortOf((*server)->url());

  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(ca->ca_cert);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  ASSERT_TRUE(SSL_set_tlsext_host_name(stream.native_handle(), "localhost"));
  stream.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  beast::get_lowest_layer(stream).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  stream.handshake(asio::ssl::stream_base::client);
  http::request<http::string_body> request(http::verb::get, "/secure", 11);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.body(), "GET /secure ? ");

  // Plain HTTP to the TLS port gets no answer.
  EXPECT_THROW(Get(port, "/plain"), boost::system::system_error);

  // A certificate that does not load is an error naming the files.
  auto broken = HttpServer::Start({.listen = "127.0.0.1:0", .tls_cert = key, .tls_key = cert}, Echo());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(key), std::string::npos) << broken.status();
}

TEST(HttpServerTest, StopsWithIdleConnectionsOpen) {
  auto server = HttpServer::Start({.listen = "127.0.0.1:0"}, Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  asio::io_context io;
  tcp::socket idle(io);
  idle.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(PortOf((*server)->url()))));
  server->reset();  // returns without waiting for the idle client's 30 s
  char c;
  boost::system::error_code ec;
  idle.read_some(asio::buffer(&c, 1), ec);
  EXPECT_TRUE(ec);  // closed by the server
}

}  // namespace
}  // namespace swarm
