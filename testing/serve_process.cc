#include "testing/serve_process.h"

#include <gtest/gtest.h>
#include <grpcpp/support/client_interceptor.h>
#include <signal.h>

#include <filesystem>

#include "testing/test_util.h"

extern char** environ;

namespace swarm::testing {

v1::RunSpec OneFileSpec(const std::string& repo) {
  v1::RunSpec spec;
  spec.set_repo(repo);
  spec.set_base_rev("HEAD");
  spec.set_plan_text(kOneFilePlan);
  spec.set_agent_command("echo changed > a.txt");
  spec.set_test_command("true");
  spec.set_agents(1);
  spec.set_max_attempts(1);
  spec.set_test_timeout_s(60);
  spec.set_agent_timeout_s(60);
  spec.set_lease_timeout_s(30);
  spec.set_heartbeat_interval_s(10);
  return spec;
}
namespace {
namespace fs = std::filesystem;

// Adds the token to every call's initial metadata.
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string token) : token_(std::move(token)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", "Bearer " + token_});
    }
    methods->Proceed();
  }

 private:
  std::string token_;
};

class TokenInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token) : token_(std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(token_);
  }

 private:
  std::string token_;
};

}  // namespace

std::shared_ptr<grpc::Channel> ChannelWithToken(const std::string& address, const std::string& token,
                                                std::shared_ptr<grpc::ChannelCredentials> credentials) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!token.empty()) interceptors.push_back(std::make_unique<TokenInterceptorFactory>(token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, grpc::ChannelArguments(),
                                                                 std::move(interceptors));
}

ServeProcess::ServeProcess(const std::string& state_dir, const std::string& socket,
                           const std::vector<std::string>& args, const std::vector<std::string>& prefix,
                           const std::vector<std::string>& env)
    : socket_(socket), token_file_(state_dir + "/control.token") {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--token-file") token_file_ = args[i + 1];
  }
  ProcessSpec spec;
  spec.argv = prefix;
  for (const auto& a : {BuildDir() + "/bin/swarm", std::string("serve"), std::string("--state-dir"), state_dir,
                        std::string("--socket"), socket}) {
    spec.argv.push_back(a);
  }
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  if (!env.empty()) {
    std::vector<std::string> all;
    for (char** e = environ; *e != nullptr; ++e) all.push_back(*e);
    all.insert(all.end(), env.begin(), env.end());
    spec.env = all;
  }
  spec.timeout = std::chrono::seconds(300);
  spec.on_start = [this](int pid) { pid_ = pid; };
  thread_ = std::jthread([this, spec] { result_ = RunProcess(spec); });
  // Ready when the socket answers.
  for (int i = 0; i < 300; ++i) {
    if (fs::exists(socket)) {
      auto channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
      if (channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::milliseconds(200))) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "swarm serve did not start listening on " << socket;
}

ServeProcess::~ServeProcess() { Stop(); }

std::string ServeProcess::token() const { return Trim(ReadFile(token_file_)); }

std::unique_ptr<v1::Control::Stub> ServeProcess::Stub() const {
  return v1::Control::NewStub(ChannelWithToken(address(), token()));
}

std::string ServeProcess::Stop() {
  if (!thread_.joinable()) return "";
  if (pid_ > 0) kill(pid_, SIGTERM);
  thread_.join();
  if (!result_.ok()) {
    ADD_FAILURE() << result_.status();
    return "";
  }
  EXPECT_EQ(result_->exit_code, 0) << result_->out << result_->err;
  EXPECT_FALSE(result_->timed_out);
  return result_->out + result_->err;
}

}  // namespace swarm::testing
