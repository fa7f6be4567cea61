// Finding 2, authentication: a client of `swarm serve` without the server's token (none, or a wrong
// one) is refused UNAUTHENTICATED on every RPC and changes nothing; the right token works from a file
// and from $SWARM_TOKEN; on TCP, TLS works with the server's CA and a client without it is refused.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "orchestrator/control/control_service.h"
#include "orchestrator/run/make_sandbox.h"
#include "orchestrator/control/run_server.h"
#include "orchestrator/store/store.h"
#include "testing/serve_process.h"
#include "testing/swarm_cli.h"
#include "testing/test_ca.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kPlan = kOneFilePlan;

v1::RunSpec Spec(const std::string& repo) { return OneFileSpec(repo); }

// The runs a state directory holds, by its store and its run directories.
size_t RunsIn(const std::string& state) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(state + "/runs", ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  if (auto store = Store::Open(state + "/swarm.db"); store.ok()) {
    if (auto runs = (*store)->Runs(); runs.ok()) n += runs->size();
  }
  return n;
}

class ControlAuthAttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = dir_ / "repo";
    InitRepo(repo_);
    WriteFile(repo_ + "/a.txt", "a\n");
    CommitAll(repo_, "base");
  }
  std::string state() const { return dir_ / "state"; }
  std::string Branches() { return Trim(Sh("git -C " + repo_ + " for-each-ref refs/heads/swarm/")); }

  TempDir dir_;
  std::string repo_;
};

// Every RPC of the Control API, called with `stub`; the status of each, by name.
std::map<std::string, grpc::Status> CallEveryRpc(v1::Control::Stub& stub, const v1::RunSpec& spec) {
  std::map<std::string, grpc::Status> out;
  {
    grpc::ClientContext c;
    v1::SubmitRequest r;
    *r.mutable_spec() = spec;
    v1::SubmitReply reply;
    out["Submit"] = stub.Submit(&c, r, &reply);
  }
  {
    grpc::ClientContext c;
    v1::WatchRequest r;
    r.set_run_id("some-run");
    auto reader = stub.Watch(&c, r);
    v1::Event e;
    while (reader->Read(&e)) {
    }
    out["Watch"] = reader->Finish();
  }
  {
    grpc::ClientContext c;
    v1::GetRequest r;
    r.set_run_id("some-run");
    v1::RunStatus reply;
    out["Get"] = stub.Get(&c, r, &reply);
  }
  {
    grpc::ClientContext c;
    v1::ListReply reply;
    out["List"] = stub.List(&c, v1::ListRequest(), &reply);
  }
  {
    grpc::ClientContext c;
    v1::CancelRequest r;
    r.set_run_id("some-run");
    v1::CancelReply reply;
    out["Cancel"] = stub.Cancel(&c, r, &reply);
  }
  return out;
}

TEST_F(ControlAuthAttacksTest, EveryCallWithoutTheTokenIsRefusedAndChangesNothing) {
  ServeProcess server(state(), dir_ / "c.sock", {"--allow-repo-root", dir_.path()});
  const std::string token = server.token();
  ASSERT_GE(token.size(), 32u);
  for (const std::string& attempt : {std::string(), std::string("wrong"), token + "0", token.substr(1),
                                     std::string(token.size(), '0')}) {
    auto stub = v1::Control::NewStub(ChannelWithToken(server.address(), attempt));
    for (const auto& [rpc, st] : CallEveryRpc(*stub, Spec(repo_))) {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << rpc << " with '" << attempt << "': "
                                                                    << st.error_message();
      EXPECT_NE(st.error_message().find("--token-file"), std::string::npos) << st.error_message();
      EXPECT_NE(st.error_message().find("SWARM_TOKEN"), std::string::npos) << st.error_message();
      EXPECT_EQ(st.error_message().find(token), std::string::npos) << "the server told its token";
    }
  }
  // The same through the CLI: a wrong token from the environment, a token file of another server.
  const std::string other = dir_ / "other.token";
  WriteFile(other, std::string(64, 'f') + "\n");
  for (const auto& [args, env] :
       std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {{"--server", server.address()}, {"SWARM_TOKEN=" + std::string(64, 'e')}},
           {{"--server", server.address(), "--token-file", other}, {}}}) {
    std::vector<std::string> run = {"run", "--repo", repo_, "--plan", dir_ / "plan.json", "--agent-cmd",
                                    "echo x > a.txt", "--test-cmd", "true"};
    WriteFile(dir_ / "plan.json", kPlan);
    run.insert(run.end(), args.begin(), args.end());
    CliResult r = RunSwarm(run, env);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--token-file"), std::string::npos) << r.err;
  }
  EXPECT_EQ(RunsIn(state()), 0u) << "a run was created without the token";
  EXPECT_EQ(Branches(), "");

  // With the token, the same calls go through to the RunServer.
  auto stub = server.Stub();
  grpc::ClientContext c;
  v1::ListReply reply;
  EXPECT_TRUE(stub->List(&c, v1::ListRequest(), &reply).ok());
}

TEST_F(ControlAuthAttacksTest, TheRightTokenWorksFromATokenFileAndFromTheEnvironment) {
  // The default token: 0600, 256 bits of hex.
  {
    ServeProcess server(state(), dir_ / "d.sock", {"--allow-repo-root", dir_.path()});
    struct stat st;
    ASSERT_EQ(stat(server.token_file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(server.token().size(), 64u);
    EXPECT_EQ(server.token().find_first_not_of("0123456789abcdef"), std::string::npos);
  }
  // A token file of the owner's choosing; one that others may read is refused.
  const std::string token_file = dir_ / "my.token";
  WriteFile(token_file, std::string(40, 'k') + "\n");
  chmod(token_file.c_str(), 0644);
  CliResult readable = RunSwarm({"serve", "--state-dir", state(), "--socket", dir_ / "t.sock", "--token-file",
                                 token_file});
  EXPECT_EQ(readable.exit_code, 2) << readable.out << readable.err;
  EXPECT_NE(readable.err.find("chmod 600"), std::string::npos) << readable.err;
  chmod(token_file.c_str(), 0600);

  ServeProcess server(state(), dir_ / "t.sock", {"--allow-repo-root", dir_.path(), "--token-file", token_file});
  WriteFile(dir_ / "plan.json", kPlan);
  CliResult run = RunSwarm({"run", "--server", server.address(), "--token-file", token_file, "--repo", repo_, "--plan",
                            dir_ / "plan.json", "--agent-cmd", "echo changed > a.txt", "--test-cmd", "true"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("run completed"), std::string::npos) << run.out;
  EXPECT_NE(Branches(), "");
  std::string id = Trim(Sh("git -C " + repo_ + " for-each-ref --format='%(refname:lstrip=3)' refs/heads/swarm/"));
  CliResult watch = RunSwarm({"watch", id, "--server", server.address()}, {"SWARM_TOKEN=" + std::string(40, 'k')});
  EXPECT_EQ(watch.exit_code, 0) << watch.out << watch.err;
  EXPECT_NE(watch.out.find("run completed"), std::string::npos) << watch.out;
  // The token never shows in what the server or the clients print, nor in the run's records.
  std::string said = server.Stop();
  for (const std::string& text : {said, run.out + run.err, watch.out + watch.err,
                                  Sh("cat " + state() + "/runs/*/coordinator.log; sqlite3 " + state() +
                                     "/swarm.db .dump 2>/dev/null || true")}) {
    EXPECT_EQ(text.find(std::string(40, 'k')), std::string::npos) << text;
  }
}

TEST_F(ControlAuthAttacksTest, TlsOnTcpWorksWithTheCaAndRefusesAClientWithoutIt) {
  auto ca = MakeTestCa(dir_.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  ServePolicy policy;
  policy.repo_roots = {fs::canonical(dir_.path()).string()};
  auto runs = RunServer::Create(state(), MakeSandbox, policy);
  ASSERT_TRUE(runs.ok()) << runs.status();
  const std::string token(64, 'a');
  ControlServerOptions options;
  options.addresses = {"127.0.0.1:0"};
  options.token = token;
  options.tls_cert = ReadFile(ca->server_cert);  // TestCa holds the files' paths
  options.tls_key = ReadFile(ca->server_key);
  auto control = ControlServer::Start(options, **runs);
  ASSERT_TRUE(control.ok()) << control.status();
  const std::string address = (*control)->addresses()[0];

  auto list = [&](std::shared_ptr<grpc::ChannelCredentials> credentials, const std::string& t) {
    auto stub = v1::Control::NewStub(ChannelWithToken(address, t, credentials));
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListReply reply;
    return stub->List(&c, v1::ListRequest(), &reply);
  };
  grpc::SslCredentialsOptions with_ca;
  with_ca.pem_root_certs = ReadFile(ca->ca_cert);
  grpc::Status ok = list(grpc::SslCredentials(with_ca), token);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  // TLS is no substitute for the token.
  EXPECT_EQ(list(grpc::SslCredentials(with_ca), "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A client that does not trust the CA, or speaks plain TCP, never gets an answer.
  grpc::SslCredentialsOptions other_ca;
  other_ca.pem_root_certs = "";  // the system's roots
  EXPECT_EQ(list(grpc::SslCredentials(other_ca), token).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(list(grpc::InsecureChannelCredentials(), token).error_code(), grpc::StatusCode::UNAVAILABLE);

  // The CLI: --tls-ca reaches it (an unknown run: exit 2, from the server), without it exit 3.
  std::vector<std::string> env = {"SWARM_TOKEN=" + token};
  CliResult with = RunSwarm({"watch", "no-such-run", "--server", address, "--tls-ca", ca->ca_cert}, env);
  EXPECT_EQ(with.exit_code, 2) << with.out << with.err;
  EXPECT_NE(with.err.find("no run no-such-run"), std::string::npos) << with.err;
  CliResult without = RunSwarm({"watch", "no-such-run", "--server", address}, env);
  EXPECT_EQ(without.exit_code, 3) << without.out << without.err;
  (*control)->Shutdown(std::chrono::milliseconds(0));
  EXPECT_EQ(RunsIn(state()), 0u);
}

TEST_F(ControlAuthAttacksTest, ServeListensBeyondLoopbackOnlyWithTls) {
  CliResult plain = RunSwarm({"serve", "--state-dir", state(), "--socket", dir_ / "p.sock", "--listen", "0.0.0.0:0"});
  EXPECT_EQ(plain.exit_code, 2) << plain.out << plain.err;
  EXPECT_NE(plain.err.find("--tls-cert"), std::string::npos) << plain.err;
  CliResult half = RunSwarm({"serve", "--state-dir", state(), "--socket", dir_ / "p.sock", "--listen", "0.0.0.0:0",
                             "--tls-cert", dir_ / "server.pem"});
  EXPECT_EQ(half.exit_code, 2) << half.out << half.err;

  ASSERT_TRUE(MakeTestCa(dir_.path()).ok());
  ServeProcess server(state(), dir_ / "s.sock",
                      {"--listen", "0.0.0.0:0", "--tls-cert", dir_ / "server.pem", "--tls-key", dir_ / "server.key"});
  std::string said = server.Stop();
  EXPECT_NE(said.find("serving on 0.0.0.0:"), std::string::npos) << said;
}

}  // namespace
}  // namespace swarm::testing
