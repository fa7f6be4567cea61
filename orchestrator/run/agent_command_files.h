// What an agent command names on this machine, and whether it can run inside the sandbox.
//
// The sandbox hides the user's work tree, $HOME, /tmp and the state directory, so a script of the
// user's that is not in the base commit (`./do-subtask.sh` uncommitted, `python3 ~/bin/agent.py`)
// would be invisible to the agents and every attempt would fail with exit 127. Each literal word of
// the command that names such a file is shown to the agent, read-only, at the path the command uses
// (the file alone, not the place around it), unless it holds secrets. And before anything starts, each
// the command's first program must resolve inside the sandbox, or the run is refused saying what to do.
#ifndef SWARM_ORCHESTRATOR_RUN_AGENT_COMMAND_FILES_H_
#define SWARM_ORCHESTRATOR_RUN_AGENT_COMMAND_FILES_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/sandbox_policy.h"

namespace swarm {

// One word of a shell command with its quotes removed: a program, or the `position`th argument of
// `of` (the program before it).
struct ShellWord {
  std::string text;
  bool program = false;
  int position = 0;  // 0 for a program
  std::string of;    // an argument's program
};

// The literal words of `command` as sh splits it (operators, comments, redirections and their files
// apart). A word whose value only the shell knows (a `$`, a backquote, a glob, a `~` other than a
// leading `~/`) is left out; so are assignments in front of a program. After `exec`, `command`,
// `nohup`, `time` and `env` (with its assignments and options), the next word is the program.
std::vector<ShellWord> LiteralWords(std::string_view command);

// What the agent's sandbox shows, as far as the command's words are concerned.
struct SandboxView {
  std::string repo_root;              // the command runs at the root of a workspace of this
  std::string cwd;                    // where `swarm run` was started ("": a client's run)
  std::string home;                   // $HOME, the same path inside ("": none)
  std::vector<std::string> hidden;    // places the sandbox hides
  std::vector<std::string> secrets;   // never shown, whatever the command names
  std::vector<std::string> ro_binds;  // shown already (--sandbox-ro-bind)
  std::vector<std::string> path;      // the sandbox's PATH
  std::vector<std::string> host_path; // this machine's PATH, to say where a program is that the sandbox lacks
  std::function<bool(const std::string&)> in_base;  // whether a relative path is in the base commit
  bool bind = true;                   // show the command's files (the local command line); a client's run: check only
  std::string bind_flag = "--sandbox-ro-bind";  // how the user shows a place
};

struct AgentCommandFiles {
  std::vector<FileBind> binds;        // each file the command names that the sandbox would not show
  std::vector<std::string> warnings;  // words naming files that stay hidden, and why
};

// The binds `command` needs, or InvalidArgument when its first program cannot resolve in the sandbox
// (it is nowhere, or only in a hidden place, or holds secrets), naming it and what to do.
absl::StatusOr<AgentCommandFiles> ResolveAgentCommand(const std::string& command, const SandboxView& view);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_AGENT_COMMAND_FILES_H_
