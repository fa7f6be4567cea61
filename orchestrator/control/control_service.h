// The gRPC Control API server (control.proto): translates calls into RunServer calls and statuses
// into gRPC statuses, nothing more. Uses the synchronous API: Watch is a blocking poll of the store,
// and a thread per watcher is cheap at the scale of one machine's runs.
#ifndef SWARM_ORCHESTRATOR_CONTROL_CONTROL_SERVICE_H_
#define SWARM_ORCHESTRATOR_CONTROL_CONTROL_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/control/run_server.h"

namespace swarm {

struct ControlServerOptions {
  std::vector<std::string> addresses;  // "unix:/path" or "host:port"; port 0 picks one
  // Every call must carry `authorization: Bearer <token>`; any other call gets UNAUTHENTICATED
  // before it reaches the RunServer. Must not be empty.
  std::string token;
  // PEM. Both set: TCP addresses take TLS only (Unix sockets stay plain: the file mode guards them).
  std::string tls_cert;
  std::string tls_key;
};

class ControlServer final {
 public:
  // Listens on every address. The RunServer must outlive this. Unavailable naming the addresses
  // when one cannot be bound.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(const ControlServerOptions& options, RunServer& runs);
  ~ControlServer();  // Shutdown(), if not done
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // The addresses as bound: a TCP port 0 replaced by the port chosen.
  const std::vector<std::string>& addresses() const { return addresses_; }

  // Stops accepting calls; calls still open after `grace` are cancelled (their watchers see the end).
  void Shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  ControlServer(std::unique_ptr<Impl> impl, std::vector<std::string> addresses);
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> addresses_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_CONTROL_CONTROL_SERVICE_H_
