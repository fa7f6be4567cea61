#include "orchestrator/control/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/input_file.h"
#include "orchestrator/control/control_service.h"
#include "orchestrator/control/control_token.h"
#include "orchestrator/control/run_server.h"
#include "orchestrator/dashboard/dashboard.h"
#include "orchestrator/dashboard/live_board.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/make_sandbox.h"
#include "orchestrator/run/run_metrics.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/web/http_server.h"

namespace swarm {

bool IsLoopbackAddress(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) return false;
  std::string port = host_port.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos) return false;
  std::string host = host_port.substr(0, colon);
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

namespace {
namespace fs = std::filesystem;

absl::Status Usage(const std::string& message) { return absl::InvalidArgumentError(message); }

// Directories a sandbox needs to see: hiding one (for the socket or the token) would break every run.
bool SystemDirectory(const std::string& dir) {
  for (const char* d : {"/", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc",
                        "/sys", "/var"}) {
    if (dir == d) return true;
  }
  return false;
}

// The canonical form of each existing path given with `flag`.
absl::StatusOr<std::vector<std::string>> CanonicalPaths(const std::vector<std::string>& paths, const std::string& flag) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    std::string c = fs::canonical(p, ec).string();
    if (ec) return Usage(absl::StrCat(flag, " ", p, ": ", ec.message()));
    out.push_back(c);
  }
  return out;
}

// The owner's policy for clients' specs, and the places hidden from every sandbox of the server's runs.
absl::StatusOr<ServePolicy> PolicyFor(const ServeOptions& options, const std::vector<std::string>& hidden) {
  ServePolicy policy;
  absl::StatusOr<std::vector<std::string>> roots = CanonicalPaths(options.allow_repo_roots, "--allow-repo-root");
  if (!roots.ok()) return roots.status();
  policy.repo_roots = std::move(*roots);
  absl::StatusOr<std::vector<std::string>> binds = CanonicalPaths(options.allow_ro_binds, "--allow-ro-bind");
  if (!binds.ok()) return binds.status();
  policy.ro_binds = std::move(*binds);
  for (const auto& name : options.allow_sandbox_env) {
    if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                            std::string::npos) {
      return Usage(absl::StrCat("--allow-sandbox-env takes a variable name, not '", name, "'"));
    }
    if (name == kTokenEnv) return Usage(absl::StrCat("--allow-sandbox-env ", name, ": the token never enters a sandbox"));
    policy.sandbox_env.push_back(name);
  }
  policy.hidden_paths = hidden;
  return policy;
}

// The token clients must send: read from --token-file, or made fresh into `token_path`.
absl::StatusOr<std::string> ServerToken(const ServeOptions& options, const std::string& token_path) {
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(token_path, /*private_only=*/true);
    if (!token.ok()) return Usage(absl::StrCat("--token-file: ", token.status().message()));
    if (absl::Status st = CheckTokenLength(*token, absl::StrCat("--token-file: the token in ", token_path)); !st.ok()) {
      return st;
    }
    return token;
  }
  absl::StatusOr<std::string> token = NewControlToken();
  if (!token.ok()) return token.status();
  if (absl::Status st = WriteTokenFile(token_path, *token); !st.ok()) return st;
  return token;
}

}  // namespace

absl::Status Serve(const ServeOptions& options, std::ostream& out) {
  // The token is for clients, never for the runs' agent hosts or their sandboxes.
  unsetenv(kTokenEnv);
  const bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return Usage("TLS needs both --tls-cert FILE and --tls-key FILE");
  }
  if (tls && options.listen.empty() && options.http.empty()) {
    return Usage("--tls-cert and --tls-key are for --listen HOST:PORT and --http HOST:PORT");
  }
  if (!options.listen.empty() && !tls && !IsLoopbackAddress(options.listen)) {
    return Usage(absl::StrCat("--listen ", options.listen, ": without TLS only a loopback address (127.0.0.1:PORT, ",
                              "[::1]:PORT or localhost:PORT) is accepted; give --tls-cert FILE and --tls-key FILE ",
                              "to listen on another address"));
  }
  if (!options.http.empty()) {
    // Checked before anything starts: a bad address must not leave a half-started server.
    absl::StatusOr<std::pair<std::string, int>> http = SplitHostPort(options.http);
    if (!http.ok()) return Usage(absl::StrCat("--http: ", http.status().message()));
    if (!tls && !IsLoopbackHost(http->first)) {
      return Usage(absl::StrCat("--http ", options.http, " is not a loopback address: serving it needs TLS ",
                                "(--tls-cert FILE and --tls-key FILE), or listen on 127.0.0.1:PORT"));
    }
  }
  ControlServerOptions control_options;
  if (tls) {
    absl::StatusOr<std::string> cert = ReadInputFile(options.tls_cert, "the TLS certificate (--tls-cert)");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadInputFile(options.tls_key, "the TLS key (--tls-key)");
    if (!key.ok()) return key.status();
    control_options.tls_cert = std::move(*cert);
    control_options.tls_key = std::move(*key);
  }

  std::string state_dir = options.state_dir.empty() ? DefaultStateDir() : options.state_dir;
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  state_dir = fs::weakly_canonical(fs::absolute(state_dir), ec).string();
  std::string socket = options.socket.empty() ? state_dir + "/control.sock"
                                              : fs::absolute(options.socket).lexically_normal().string();
  if (socket.size() > 107) {
    return Usage(absl::StrCat("the socket path ", socket, " is ", socket.size(),
                              " bytes, more than the 107 a Unix socket path may have; pass a shorter one with ",
                              "--socket PATH"));
  }
  std::string token_path = options.token_file.empty() ? state_dir + "/" + kTokenFileName
                                                      : fs::absolute(options.token_file).lexically_normal().string();

  // Agents of the server's runs must never reach its socket or read its token: both directories are
  // hidden from every sandbox, wherever they are.
  std::vector<std::string> hidden;
  const std::vector<std::pair<std::string, std::string>> files = {{"--socket", socket}, {"--token-file", token_path}};
  for (const auto& [what, file] : files) {
    std::string dir = fs::weakly_canonical(fs::path(file).parent_path(), ec).string();
    if (ec || SystemDirectory(dir)) {
      return Usage(absl::StrCat(what, " ", file, ": its directory ", dir, " is hidden from every sandbox of the ",
                                "server's runs, and a sandbox needs it; use a directory of its own"));
    }
    if (std::find(hidden.begin(), hidden.end(), dir) == hidden.end()) hidden.push_back(dir);
  }
  absl::StatusOr<ServePolicy> policy = PolicyFor(options, hidden);
  if (!policy.ok()) return policy.status();
  // What the server's runs are doing now (agents' actions, the merge stages' tests): for the dashboard
  // and the Control API's Watch.
  LiveBoard live;
  absl::StatusOr<std::unique_ptr<RunServer>> runs =
      RunServer::Create(state_dir, MakeSandbox, std::move(*policy), &live);
  if (!runs.ok()) return runs.status();
  // One server per socket: gRPC would silently take over the socket file of a live one.
  std::string lock_path = socket + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd >= 0) close(lock_fd);
    return absl::FailedPreconditionError(
        absl::StrCat("another swarm serve is listening on ", socket, " (", lock_path, " is locked)"));
  }
  // Made once the socket is ours, so that a server refused above never replaces a live one's token.
  absl::StatusOr<std::string> token = ServerToken(options, token_path);
  if (!token.ok()) {
    close(lock_fd);
    return token.status();
  }
  control_options.token = std::move(*token);

  // Blocked before gRPC starts its threads, so that they inherit the mask and only sigwait sees these.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Anyone who can connect can run commands as us: the socket is for its owner alone.
  mode_t old_umask = umask(077);
  control_options.addresses = {"unix:" + socket};
  if (!options.listen.empty()) control_options.addresses.push_back(options.listen);
  absl::StatusOr<std::unique_ptr<ControlServer>> control = ControlServer::Start(control_options, **runs);
  umask(old_umask);
  if (!control.ok()) return absl::UnavailableError(control.status().message());  // exit 3, whatever failed
  // The dashboard reads through its own store on the HTTP server's thread; the server stops first.
  Dashboard dashboard({.state_dir = (*runs)->state_dir(),
                       .token = control_options.token,
                       .secure = tls,
                       .live = &live,
                       .cancel = [&runs](const std::string& run_id, const std::string& why) {
                         // Not one of ours (or over): the dashboard asks through the run's cancel file.
                         absl::Status st = (*runs)->Cancel(run_id, why);
                         return st.ok() ? st : absl::NotFoundError(st.message());
                       }});
  std::unique_ptr<HttpServer> http;
  if (!options.http.empty()) {
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        HttpServer::Start({.listen = options.http, .tls_cert = options.tls_cert, .tls_key = options.tls_key},
                          [&dashboard](const WebRequest& r) { return dashboard.Answer(r); });
    if (!started.ok()) {
      (*control)->Shutdown(std::chrono::seconds(0));
      close(lock_fd);
      if (absl::IsInvalidArgument(started.status())) return started.status();
      return absl::UnavailableError(absl::StrCat("--http: ", started.status().message()));
    }
    http = std::move(*started);
    DeclareRunMetrics();  // a scrape before the first run shows every series
  }
  for (const auto& a : (*control)->addresses()) out << "swarm: serving on " << a << "\n";
  if (http) {
    out << "swarm: dashboard at " << http->url() << "/ (for logs, transcripts and cancel, open it once as "
        << http->url() << "/?token=TOKEN, TOKEN from the token file below), metrics at " << http->url() << "/metrics\n";
  }
  out << "swarm: state in " << (*runs)->state_dir() << "\n";
  out << "swarm: clients need the token in " << token_path << " (--token-file FILE or $SWARM_TOKEN)\n";
  if (options.allow_repo_roots.empty()) {
    out << "swarm: warning: no --allow-repo-root DIR given: every run will be refused\n";
  }
  out.flush();

  int sig = 0;
  sigwait(&signals, &sig);
  out << "swarm: " << (sig == SIGINT ? "interrupted" : "terminated") << "; cancelling the live runs\n";
  out.flush();
  // A second signal leaves at once; the runs' hosts and sandboxes die with us (parent-death signal).
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    _exit(kExitInterrupted);
  }).detach();
  (*runs)->Shutdown();
  http.reset();
  (*control)->Shutdown(std::chrono::seconds(2));
  unlink(socket.c_str());
  close(lock_fd);
  out << "swarm: stopped\n";
  return absl::OkStatus();
}

}  // namespace swarm
