// The LLM agent: one attempt of one subtask by a model. The loop fits on a screen: ask the model
// (through the coordinator's gateway, under the lease), carry out the tool calls it makes
// (tools/tool_set.h) on the attempt's workspace, append what they observed, and go on until it
// submits or reaches a limit. Every step is a model call, which the coordinator records as it
// happens. Outcomes: submitted, limit_reached, budget_exhausted, repeated_format_errors, cancelled,
// failed.
#ifndef SWARM_AGENTS_LLM_AGENT_H_
#define SWARM_AGENTS_LLM_AGENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/attempt.h"
#include "agents/live_log.h"
#include "agents/model_client.h"
#include "git/workspace.h"
#include "sandbox/sandbox.h"
#include "swarm/v1/agent.pb.h"
#include "tools/tool_set.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace swarm {

inline constexpr int kMaxFormatErrorsInARow = 3;

class LlmAgent final : public std::enable_shared_from_this<LlmAgent> {
 public:
  using Done = std::function<void(v1::AttemptResult)>;
  using Started = std::function<void()>;
  // What the agent is doing now, as it starts something that may take a while: `step` (model calls
  // so far; 0 for a command agent) and one line (base/utf8.h's OneLine). Called on `io`.
  using Activity = std::function<void(std::uint32_t step, std::string action)>;

  // As CommandAgent: `io` runs the loop, `pool` the workspace, the tools and the sandboxed commands.
  LlmAgent(boost::asio::io_context& io, boost::asio::thread_pool& pool, const Sandbox& sandbox,
           const v1::Registered& registered, v1::Lease lease, ModelClient& model, const HostWorkspaces* workspaces);

  // `started` is called once, on `io`, when the set-up is over (the workspace made or not); `done`
  // once, on `io`, after it.
  void Start(Started started, Done done, Activity activity = nullptr);
  void Kill();

 private:
  // `root`: the workspace, canonical; `listing`: its files, for the prompt.
  void OnWorkspace(absl::StatusOr<std::unique_ptr<Workspace>> ws, const std::string& root, const std::string& listing);
  void Ask();
  void OnReply(absl::StatusOr<v1::ChatReply> reply);
  void OnObservations(std::vector<ToolOutcome> outcomes);
  // Old observations give way when the conversation nears the context window; the prefix (system
  // prompt, subtask) never changes, so the provider's prompt cache keeps hitting.
  void ElideOldObservations();
  void End(const std::string& outcome, const std::string& detail);
  void Complete(v1::AttemptResult result);
  // `growth`: the tree the command writes and its limit, where no file system of its own caps it.
  std::string RunCommand(const std::string& command, const std::string& workdir, std::chrono::seconds timeout,
                         std::optional<GrowthCap> growth) const;
  std::string RunTests(std::chrono::steady_clock::time_point deadline) const;
  void Note(const std::string& line);
  // Writes `text` to the attempt's live log only (opened at the first write).
  void Live(const std::string& text);

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  const Sandbox& sandbox_;
  const v1::Registered& registered_;
  const v1::Lease lease_;
  ModelClient& model_;
  const HostWorkspaces* const workspaces_;  // where attempts' workspaces come from
  const std::string dir_;

  // Owned by `io_`.
  Started started_;
  Done done_;
  Activity activity_;
  std::shared_ptr<Workspace> workspace_;
  std::unique_ptr<ToolSet> tools_;
  std::vector<v1::ChatMessage> messages_;
  std::size_t prefix_ = 0;  // messages never elided
  int steps_ = 0;
  std::uint64_t tokens_ = 0;  // used by this attempt, in and out
  int format_errors_ = 0;   // in a row
  std::atomic<bool> killed_{false};   // set by Kill, read by tools on the pool too
  mutable std::atomic<int> running_pid_{0};  // the sandboxed command a tool is running
  std::string log_;         // what the attempt's log shows: each step, shortly
  std::unique_ptr<LiveLog> live_;  // the same, as it comes, while the attempt runs
  bool live_opened_ = false;       // opened once, at the first line
  std::chrono::steady_clock::time_point start_;
};

}  // namespace swarm

#endif  // SWARM_AGENTS_LLM_AGENT_H_
