// Finding 2, the spec: a client holding the token still only requests a run. Each field that would
// reconfigure the server (the sandbox, the agent binary, the model endpoint, a scripted model, host
// binds and variables the owner did not allow, a state directory, a plan on the server's disk, a
// repository outside the allowed roots) is refused with the field named, and nothing is created.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <functional>

#include "orchestrator/store/store.h"
#include "testing/serve_process.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kPlan = kOneFilePlan;

class ServedSpecAttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "allowed");
    fs::create_directories(dir_ / "outside");
    fs::create_directories(dir_ / "ok-bind");
    fs::create_directories(dir_ / "secret-bind");
    for (const std::string& repo : {dir_ / "allowed/repo", dir_ / "outside/repo"}) {
      InitRepo(repo);
      WriteFile(repo + "/a.txt", "a\n");
      CommitAll(repo, "base");
    }
    // Ways out of the allowed root: a link, and a `.git` file naming an outside repository.
    fs::create_directory_symlink(dir_ / "outside/repo", dir_ / "allowed/link");
    fs::create_directories(dir_ / "allowed/gitfile");
    WriteFile(dir_ / "allowed/gitfile/.git", "gitdir: " + (dir_ / "outside/repo/.git") + "\n");
    WriteFile(dir_ / "outside/plan.json", kPlan);
    // A repository that borrows the outside one's objects (objects/info/alternates).
    Sh("git clone -q --shared " + (dir_ / "outside/repo") + " " + (dir_ / "allowed/borrower"));
  }
  std::string state() const { return dir_ / "state"; }
  // In the state directory: the socket's directory is hidden from sandboxes, and so may hold no bind.
  std::string socket() const { return dir_ / "state/c.sock"; }
  v1::RunSpec Spec() const { return OneFileSpec(dir_ / "allowed/repo"); }
  grpc::Status Submit(const ServeProcess& server, const v1::RunSpec& spec, v1::SubmitReply* reply = nullptr) {
    grpc::ClientContext context;
    v1::SubmitRequest request;
    *request.mutable_spec() = spec;
    v1::SubmitReply ignored;
    return server.Stub()->Submit(&context, request, reply != nullptr ? reply : &ignored);
  }
  size_t Runs() {
    size_t n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(state() + "/runs", ec); !ec && it != fs::directory_iterator(); ++it) ++n;
    return n;
  }

  TempDir dir_;
};

TEST_F(ServedSpecAttacksTest, FieldsThatWouldReconfigureTheServerAreRefusedAndNothingIsCreated) {
  ServeProcess server(state(), socket(),
                      {"--allow-repo-root", dir_ / "allowed", "--allow-ro-bind", dir_ / "ok-bind",
                       "--allow-sandbox-env", "OK_VAR"});
  struct Attack {
    std::string field;
    std::function<void(v1::RunSpec&)> edit;
  };
  const std::vector<Attack> attacks = {
      {"no_sandbox", [](v1::RunSpec& s) { s.set_no_sandbox(true); }},
      {"agent_binary", [this](v1::RunSpec& s) { s.set_agent_binary(dir_ / "outside/evil-agent"); }},
      {"base_url", [](v1::RunSpec& s) {
         s.set_model("openai:gpt-4o-mini");
         s.set_base_url("http://127.0.0.1:9/v1");
       }},
      {"model", [this](v1::RunSpec& s) { s.set_model("scripted:" + (dir_ / "outside/script.json")); }},
      {"model", [this](v1::RunSpec& s) { s.set_model("scripted-anthropic:" + (dir_ / "outside/script.json")); }},
      {"sandbox_ro_binds", [this](v1::RunSpec& s) { s.add_sandbox_ro_binds(dir_ / "secret-bind"); }},
      {"sandbox_ro_binds", [](v1::RunSpec& s) { s.add_sandbox_ro_binds("/etc"); }},
      {"sandbox_env", [](v1::RunSpec& s) { s.add_sandbox_env("EVIL=1"); }},
      {"sandbox_env", [](v1::RunSpec& s) { s.add_sandbox_env("SWARM_TOKEN=x"); }},
      {"sandbox_env", [](v1::RunSpec& s) { s.add_sandbox_env("OK_VAR"); }},  // NAME only: whose environment?
      {"state_dir", [this](v1::RunSpec& s) { s.set_state_dir(dir_ / "outside/state"); }},
      {"plan_file", [this](v1::RunSpec& s) {
         s.clear_plan_text();
         s.set_plan_file(dir_ / "outside/plan.json");
       }},
      {"repo", [this](v1::RunSpec& s) { s.set_repo(dir_ / "outside/repo"); }},
      {"repo", [this](v1::RunSpec& s) { s.set_repo(dir_ / "allowed/link"); }},
      {"repo", [this](v1::RunSpec& s) { s.set_repo(dir_ / "allowed/../outside/repo"); }},
      {"repo", [this](v1::RunSpec& s) { s.set_repo(dir_ / "allowed/gitfile"); }},
      {"alternates", [this](v1::RunSpec& s) { s.set_repo(dir_ / "allowed/borrower"); }},
  };
  for (const auto& attack : attacks) {
    v1::RunSpec spec = Spec();
    attack.edit(spec);
    grpc::Status st = Submit(server, spec);
    EXPECT_TRUE(st.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                st.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
        << attack.field << ": " << st.error_code() << " " << st.error_message();
    EXPECT_NE(st.error_message().find(attack.field), std::string::npos) << attack.field << ": " << st.error_message();
  }
  EXPECT_EQ(Runs(), 0u) << "a refused spec created a run";
  EXPECT_FALSE(fs::exists(dir_ / "outside/state"));
  for (const std::string& repo : {dir_ / "allowed/repo", dir_ / "outside/repo"}) {
    EXPECT_EQ(Trim(Sh("git -C " + repo + " for-each-ref refs/heads/swarm/")), "") << repo;
  }

  // What the owner allowed goes through, and the run lands.
  v1::RunSpec allowed = Spec();
  allowed.add_sandbox_ro_binds(dir_ / "ok-bind");
  allowed.add_sandbox_env("OK_VAR=1");
  allowed.set_agent_command("echo $OK_VAR > a.txt");
  v1::SubmitReply reply;
  grpc::Status st = Submit(server, allowed, &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();
  grpc::ClientContext context;
  v1::WatchRequest watch;
  watch.set_run_id(reply.run_id());
  auto reader = server.Stub()->Watch(&context, watch);
  v1::Event e, last;
  while (reader->Read(&e)) last = e;
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(last.run_finished().exit_code(), 0) << last.DebugString();
}

TEST_F(ServedSpecAttacksTest, WithoutAllowedRootsEveryRepositoryIsRefusedAndTheHelpSaysSo) {
  ServeProcess server(state(), socket());
  grpc::Status st = Submit(server, Spec());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("--allow-repo-root"), std::string::npos) << st.error_message();
  EXPECT_EQ(Runs(), 0u);
  std::string said = server.Stop();
  EXPECT_NE(said.find("--allow-repo-root"), std::string::npos) << said;
  CliResult help = RunSwarm({"serve", "--help"});
  EXPECT_NE(help.out.find("every run is refused"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace swarm::testing
