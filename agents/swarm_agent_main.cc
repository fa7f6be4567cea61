// swarm-agent: an agent host process. Started by `swarm run`, or by hand on another machine.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "agents/agent_host.h"
#include "base/command_line.h"
#include "base/file_limit.h"
#include "sandbox/mount_template.h"
#include "sandbox/overlay_mount.h"
#include "swarm/v1/protocol.h"

int main(int argc, char** argv) {
  // Everything swarm writes (state, logs, workspaces, test copies) is private to its user.
  umask(077);
  const std::vector<std::string> args(argv + 1, argv + argc);
  CLI::App app{"swarm-agent: hosts agent slots for a swarm coordinator"};
  app.set_version_flag("--version", swarm::VersionLine("swarm-agent", swarm::SwarmVersion()),
                       "print the version (and the protocol it speaks) and exit");
  app.footer("Exit status: 0 the coordinator ended the run; 1 the host failed (the message says why); 2 usage or bad input.");
  swarm::AgentHostOptions options;
  bool exit_with_parent = false;
  app.add_option("--coordinator", options.coordinator, "unix:/path/to/agent.sock or host:port")->required();
  app.add_option("--slots", options.slots, "how many attempts to run at once")->capture_default_str();
  app.add_option("--parallel-starts", options.parallel_starts,
                 "attempts set up at once; a lease is asked for only when it can start (0: the cores)");
  app.add_option("--host-id", options.host_id, "a name for this host in the run's records");
  app.add_flag("--exit-with-parent", exit_with_parent, "exit when the process that started this one exits");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "swarm-agent: " << swarm::ParseErrorInWords(e, app, "swarm-agent", args) << "\n";
    return 2;  // swarm's usage status, not the parser's own numbers
  }
  if (options.parallel_starts < 0) {
    std::cerr << "swarm-agent: --parallel-starts must be 0 (the cores) or more\n";
    return 2;
  }
  if (options.slots <= 0) {
    std::cerr << "swarm-agent: --slots must be at least 1\n";
    return 2;
  }
  if (options.host_id.empty()) options.host_id = "host-" + std::to_string(getpid());
  if (exit_with_parent) {
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 1;  // the parent died before we could ask
  }
  signal(SIGPIPE, SIG_IGN);
  // Overlay workspaces are mounted in a namespace of this process's own, entered before any thread
  // starts (a namespace is per thread); it goes, with every mount, when the host exits.
  if (geteuid() != 0) {
    // Not root: a user namespace of the host's own, where it can mount each clone a tmpfs capped at
    // the run's limits (overlays with swarm's options need root).
    options.overlay_error = "not root: overlay workspaces need root";
    if (absl::Status st = swarm::EnterUserAndMountNamespace(); absl::IsInternal(st)) {
      std::cerr << "swarm-agent: " << st.message() << "\n";
      return 1;
    } else if (!st.ok()) {
      std::cerr << "swarm-agent: note: workspaces are measured only when a command ends (" << st.message() << ")\n";
    }
  } else if (absl::Status st = swarm::EnterPrivateMountNamespace(); !st.ok()) {
    options.overlay_error = std::string(st.message());
  } else {
    options.overlay_error.clear();
  }
  // Sandboxes start from a copy of the namespace as it is now, before any workspace is mounted.
  if (swarm::InPrivateMountNamespace()) {
    if (absl::Status st = swarm::MakeMountTemplate(); !st.ok()) {
      std::cerr << "swarm-agent: note: each sandbox starts in the host's own mount namespace, with every "
                   "workspace in it ("
                << st.message() << ")\n";
    }
  }
  // Per attempt: its stream of model calls, a sandboxed command's pipes, a model endpoint socket.
  const std::uint64_t wanted = 64 + 16 * static_cast<std::uint64_t>(options.slots);
  if (swarm::FileLimit limit = swarm::RaiseFileLimit(wanted); limit.soft < wanted) {
    std::cerr << "swarm-agent: warning: the open-file limit is " << limit.soft << " (hard limit " << limit.hard
              << "); " << options.slots << " slots may need " << wanted << " (raise it with ulimit -Hn)\n";
  }
  swarm::AgentHost host(options);
  absl::Status st = host.Run();
  if (!st.ok()) {
    std::cerr << "swarm-agent: " << st.message() << "\n";
    return 1;
  }
  return 0;
}
