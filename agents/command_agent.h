// The command agent: one attempt of one subtask by running a command (a codemod, a script, an
// external CLI agent) with `sh -c` in a fresh workspace, inside the sandbox. When the command
// succeeds, the host computes the patch from the workspace's files, outside the sandbox.
//
// The command sees SWARM_SUBTASK_ID, SWARM_SUBTASK_JSON (a file with the subtask), SWARM_FILES (one
// path per line), SWARM_ATTEMPT and SWARM_BASE; after a conflict, SWARM_CONFLICT_JSON (a file: the
// conflicting files with their content and conflict markers, on the head it now starts from). When
// the run has a model, SWARM_MODEL (PROVIDER:MODEL), SWARM_MODEL_SOCKET and SWARM_MODEL_URL: an
// OpenAI-compatible endpoint for this attempt (model_endpoint.h).
#ifndef SWARM_AGENTS_COMMAND_AGENT_H_
#define SWARM_AGENTS_COMMAND_AGENT_H_

#include <functional>
#include <memory>
#include <string>

#include "agents/attempt.h"
#include "agents/live_log.h"
#include "agents/model_client.h"
#include "agents/model_endpoint.h"
#include "git/workspace.h"
#include "sandbox/sandbox.h"
#include "swarm/v1/agent.pb.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace swarm {

class CommandAgent final : public std::enable_shared_from_this<CommandAgent> {
 public:
  using Done = std::function<void(v1::AttemptResult)>;
  using Started = std::function<void()>;
  // What the agent is doing now, as it starts something that may take a while: `step` (model calls
  // so far; 0 for a command agent) and one line (base/utf8.h's OneLine). Called on `io`.
  using Activity = std::function<void(std::uint32_t step, std::string action)>;

  // `io` runs the command's completion and `done`; `pool` runs the blocking git work. The sandbox,
  // `registered`, `model` (null: no model endpoint) and `bases` (null: a cloned workspace) must
  // outlive the attempt.
  CommandAgent(boost::asio::io_context& io, boost::asio::thread_pool& pool, const Sandbox& sandbox,
               const v1::Registered& registered, v1::Lease lease, std::string host_id, ModelClient* model,
               const HostWorkspaces* workspaces);

  // Starts the attempt. `started` is called once, on `io`, when its set-up is over (its workspace made
  // or not); `done` once, on `io`, after it.
  void Start(Started started, Done done, Activity activity = nullptr);
  // Kills the command if it is running; the attempt then ends as failed.
  void Kill();

 private:
  void OnWorkspace(absl::StatusOr<std::unique_ptr<Workspace>> ws);
  void OnCommandDone(absl::StatusOr<ProcessResult> r, bool grew_past_limit);
  void Fail(const std::string& error, std::string log = "");
  void Complete(v1::AttemptResult result);
  SandboxPolicy Policy() const;

  // Set at construction.
  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  const Sandbox& sandbox_;
  const v1::Registered& registered_;
  const v1::Lease lease_;
  const std::string host_id_;
  const std::string dir_;
  ModelClient* const model_;
  const HostWorkspaces* const workspaces_;  // where attempts' workspaces come from

  // Owned by `io_`.
  Started started_;
  Done done_;
  Activity activity_;
  std::shared_ptr<Workspace> workspace_;
  std::unique_ptr<ModelEndpoint> endpoint_;
  std::string endpoint_dir_;  // short and private: a socket path holds 107 bytes
  int pid_ = 0;
  bool killed_ = false;
  std::string log_;
  std::unique_ptr<LiveLog> live_;  // the output as it comes, while the command runs
  bool live_opened_ = false;       // made (or tried) at the first output
  std::chrono::steady_clock::time_point start_;
};

}  // namespace swarm

#endif  // SWARM_AGENTS_COMMAND_AGENT_H_
