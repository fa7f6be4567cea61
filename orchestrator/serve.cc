#include "orchestrator/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "orchestrator/control_service.h"
#include "orchestrator/exit_codes.h"
#include "orchestrator/make_sandbox.h"
#include "orchestrator/run_server.h"
#include "orchestrator/run_setup.h"

namespace swarm {

bool IsLoopbackAddress(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) return false;
  std::string port = host_port.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos) return false;
  std::string host = host_port.substr(0, colon);
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

int Serve(const ServeOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.listen.empty() && !IsLoopbackAddress(options.listen)) {
    err << "swarm: --listen " << options.listen << ": only a loopback address (127.0.0.1:PORT, [::1]:PORT or "
        << "localhost:PORT) is accepted, because the Control API has no tokens or TLS yet\n";
    return kExitUsage;
  }
  std::string state_dir = options.state_dir.empty() ? DefaultStateDir() : options.state_dir;
  absl::StatusOr<std::unique_ptr<RunServer>> runs = RunServer::Create(state_dir, MakeSandbox);
  if (!runs.ok()) {
    err << "swarm: " << runs.status().message() << "\n";
    return ExitCodeFor(runs.status());
  }
  std::string socket = options.socket.empty() ? (*runs)->state_dir() + "/control.sock"
                                              : std::filesystem::absolute(options.socket).string();
  if (socket.size() > 107) {
    err << "swarm: the socket path " << socket << " is " << socket.size()
        << " bytes, more than the 107 a Unix socket path may have; pass a shorter one with --socket PATH\n";
    return kExitUsage;
  }
  // One server per socket: gRPC would silently take over the socket file of a live one.
  std::string lock_path = socket + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd >= 0) close(lock_fd);
    err << "swarm: another swarm serve is listening on " << socket << " (" << lock_path << " is locked)\n";
    return kExitEnvironment;
  }

  // Blocked before gRPC starts its threads, so that they inherit the mask and only sigwait sees these.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Anyone who can connect can run commands as us: the socket is for its owner alone.
  mode_t old_umask = umask(077);
  std::vector<std::string> addresses = {"unix:" + socket};
  if (!options.listen.empty()) addresses.push_back(options.listen);
  absl::StatusOr<std::unique_ptr<ControlServer>> control = ControlServer::Start(addresses, **runs);
  umask(old_umask);
  if (!control.ok()) {
    err << "swarm: " << control.status().message() << "\n";
    return kExitEnvironment;
  }
  for (const auto& a : (*control)->addresses()) out << "swarm: serving on " << a << "\n";
  out << "swarm: state in " << (*runs)->state_dir() << "\n";
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
  (*control)->Shutdown(std::chrono::seconds(2));
  unlink(socket.c_str());
  close(lock_fd);
  out << "swarm: stopped\n";
  return kExitOk;
}

}  // namespace swarm
