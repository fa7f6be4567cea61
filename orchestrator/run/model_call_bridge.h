// Agents' model calls between the gateway's thread and the coordinator's executor. A call is started
// for a lease; when the gateway finishes it, the call is queued and the executor is woken; there it
// is recorded (the event and the bodies) before its agent gets the reply, so nothing an agent saw is
// missing from the store. A lease that ends takes its calls with it (not retried any more).
#ifndef SWARM_ORCHESTRATOR_RUN_MODEL_CALL_BRIDGE_H_
#define SWARM_ORCHESTRATOR_RUN_MODEL_CALL_BRIDGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/status.h"
#include "models/model_gateway.h"
#include "orchestrator/run/agent_handler.h"

namespace swarm {

// A call the gateway finished, as the executor records it.
struct FinishedModelCall {
  int attempt = 0;
  int step = 0;  // 1 for the first call under its lease
  absl::StatusOr<v1::ChatReply> reply = absl::UnknownError("not done");
  CallRecord record;
};

class ModelCallBridge {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using Record = std::function<void(const FinishedModelCall&)>;
  // `post` runs a task on the executor (from any thread); `record` runs there for each finished
  // call, before its agent is answered.
  ModelCallBridge(Post post, Record record);

  // The gateway calls go to; null when the run has none or it stopped.
  void SetCaller(ModelCaller* caller) { caller_ = caller; }

  // On the executor: a call of `attempt` under `lease_id`. `done` is called once, after the call is
  // recorded (or with Cancelled when the run finishes first).
  void Start(const std::string& lease_id, const std::string& subtask_id, int attempt, v1::ChatRequest request,
             AgentHandler::CompleteDone done);

  // On the executor: records the finished calls and answers their agents.
  void Drain();

  // On the executor: the lease ended; its calls are not retried, and its step count is forgotten.
  void EndLease(const std::string& lease_id);

  // At the end of the run, after the caller is gone and Drain: every agent still waiting gets `why`.
  void AnswerWaiting(const absl::Status& why);

  std::size_t waiting() const;

 private:
  struct Finished {
    std::uint64_t id = 0;
    FinishedModelCall call;
  };

  const Post post_;
  const Record record_;
  ModelCaller* caller_ = nullptr;
  // Executor only.
  std::uint64_t next_id_ = 0;
  std::map<std::string, int> steps_;                        // lease id -> calls made under it
  std::map<std::string, std::set<std::uint64_t>> calls_;    // lease id -> the caller's call ids
  mutable absl::Mutex mu_;
  std::map<std::uint64_t, AgentHandler::CompleteDone> waiting_ ABSL_GUARDED_BY(mu_);
  std::vector<Finished> finished_ ABSL_GUARDED_BY(mu_);
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_MODEL_CALL_BRIDGE_H_
