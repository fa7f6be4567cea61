// The client side of the Control API: `swarm run --server`, `swarm watch`, and cancelling a run on a
// server. An address is "unix:/path" or "host:port".
#ifndef SWARM_ORCHESTRATOR_CONTROL_CLIENT_H_
#define SWARM_ORCHESTRATOR_CONTROL_CLIENT_H_

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orchestrator/run/run_config.h"

namespace swarm {

// `flag` when given, else $SWARM_SERVER, else empty (no server: work locally).
std::string ServerAddress(const std::string& flag);

// Where a server is and how to prove who we are to it.
struct ServerConnection {
  std::string address;  // "unix:/path" or "host:port"
  // The token's file; empty: $SWARM_TOKEN, else the control.token beside a Unix socket (control_token.h).
  std::string token_file = {};
  // PEM file of the CA that signed a TCP server's certificate: TLS. Empty: plain TCP (loopback only).
  std::string tls_ca = {};
};

// The RunSpec a server needs for `config` as given on this machine's command line: paths made
// absolute, the plan file read into plan_text, --sandbox-env NAME resolved from this environment
// (unset names are dropped, with a warning on `err`). InvalidArgument when the plan cannot be read.
absl::StatusOr<v1::RunSpec> SpecForServer(const RunConfig& config, std::ostream& err);

// Asks the server to cancel a run. NotFound for an unknown run, FailedPrecondition when it already
// ended, Unauthenticated without the right token, Unavailable (naming the address) when the server
// cannot be reached, InvalidArgument when the token or CA file cannot be read.
absl::Status CancelOnServer(const ServerConnection& server, const std::string& run_id, const std::string& reason);

// `swarm run --server`: submits, follows the run's events (progress lines, or JSON lines with
// config.json) and returns the run's ending (RunEndStatus; 130 or 5 when interrupted here), or why it
// could not. Ctrl-C cancels the run on the server. Call from the main thread before other threads
// start (it blocks SIGINT and SIGTERM to wait for them).
[[nodiscard]] absl::Status RunOnServer(const ServerConnection& server, const RunConfig& config, std::ostream& out,
                                       std::ostream& err);

struct WatchOptions {
  std::string run_id;
  std::uint64_t from_seq = 0;  // print events with seq > from_seq
  bool json = false;
  ServerConnection server;  // address empty: read the state directory's store directly
  std::string state_dir;  // without a server; empty: the default
};

// `swarm watch`: prints the run's events until RunFinished and returns the run's ending
// (RunEndStatus); an error mapping to 2 for an unknown run or a refused token, to 3 when the server
// cannot be reached; exit 130 on Ctrl-C. Same threading rule as above.
[[nodiscard]] absl::Status WatchRun(const WatchOptions& options, std::ostream& out);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_CONTROL_CLIENT_H_
