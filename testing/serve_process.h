// A real `swarm serve` process for end-to-end tests, and Control API stubs whose calls carry a token.
#ifndef SWARM_TESTING_SERVE_PROCESS_H_
#define SWARM_TESTING_SERVE_PROCESS_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/process.h"
#include "swarm/v1/control.grpc.pb.h"

namespace swarm::testing {

// One subtask "a" that writes a.txt, as a plan file's text.
inline constexpr char kOneFilePlan[] =
    R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]}]})";

// A complete spec of a run of kOneFilePlan on `repo` (agent `echo changed > a.txt`, test `true`), with
// every limit set, as a careful client would send it.
v1::RunSpec OneFileSpec(const std::string& repo);

// A channel to `address` whose every call carries `authorization: Bearer <token>` (none when `token`
// is empty), as a client that knows no better than the wire would send it.
std::shared_ptr<grpc::Channel> ChannelWithToken(const std::string& address, const std::string& token,
                                                std::shared_ptr<grpc::ChannelCredentials> credentials =
                                                    grpc::InsecureChannelCredentials());

// `swarm serve --state-dir STATE --socket SOCKET ARGS...`, from construction until Stop(). `prefix`
// goes before the binary (e.g. setpriv to run it as another user); `env` extends the environment.
class ServeProcess final {
 public:
  ServeProcess(const std::string& state_dir, const std::string& socket, const std::vector<std::string>& args = {},
               const std::vector<std::string>& prefix = {}, const std::vector<std::string>& env = {});
  ~ServeProcess();  // Stop()
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  std::string address() const { return "unix:" + socket_; }
  // The token clients must send: from --token-file when given in `args`, else <state>/control.token.
  std::string token_file() const { return token_file_; }
  std::string token() const;
  // A stub whose calls carry the server's token.
  std::unique_ptr<v1::Control::Stub> Stub() const;
  // SIGTERM, as a service manager would; returns what it printed. It must exit 0.
  std::string Stop();

 private:
  std::string socket_;
  std::string token_file_;
  std::atomic<int> pid_{0};
  absl::StatusOr<ProcessResult> result_;
  std::jthread thread_;
};

}  // namespace swarm::testing

#endif  // SWARM_TESTING_SERVE_PROCESS_H_
