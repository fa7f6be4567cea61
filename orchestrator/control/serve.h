// `swarm serve`: a RunServer behind the Control API until SIGINT or SIGTERM, which cancel the live
// runs, wait for them and exit 0.
#ifndef SWARM_ORCHESTRATOR_CONTROL_SERVE_H_
#define SWARM_ORCHESTRATOR_CONTROL_SERVE_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace swarm {

struct ServeOptions {
  std::string state_dir;  // empty: the default state directory
  std::string socket;     // empty: <state_dir>/control.sock
  std::string listen;     // also listen on HOST:PORT (loopback only without TLS); empty: the socket alone
  std::string token_file; // the token clients must send; empty: a fresh one in <state_dir>/control.token
  std::string http;       // also serve /metrics over HTTP on HOST:PORT (orchestrator/web/); empty: no HTTP
  std::string tls_cert;   // with tls_key: TLS on the --listen and --http ports (PEM files)
  std::string tls_key;
  // What clients' specs may use (served_spec.h); nothing by default.
  std::vector<std::string> allow_repo_roots;
  std::vector<std::string> allow_ro_binds;
  std::vector<std::string> allow_sandbox_env;
};

// Blocks until a signal, then returns OK; an error mapping to exit 2 for bad options, 3 when it cannot
// serve (another server holds the socket, the address cannot be bound). Call from the main thread
// before any other thread exists: it blocks SIGINT and SIGTERM for the whole process to wait for them.
[[nodiscard]] absl::Status Serve(const ServeOptions& options, std::ostream& out);

// Whether HOST:PORT names a loopback host: 127.0.0.1, localhost or [::1].
bool IsLoopbackAddress(const std::string& host_port);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_CONTROL_SERVE_H_
