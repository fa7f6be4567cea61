// The model gateway: the one place in a run that holds the provider key and talks to the provider.
// Every agent's completion goes through it: the budget is reserved before and settled after each
// call, the provider key's rate limiter admits it, failures worth retrying (429, 5xx, resets,
// time-outs) are retried with exponential backoff and jitter, and every request and reply is handed
// back for the store, with the key removed. Runs on its own thread; Complete may be called from any.
#ifndef SWARM_MODELS_MODEL_GATEWAY_H_
#define SWARM_MODELS_MODEL_GATEWAY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/model_config.h"
#include "swarm/v1/model.pb.h"

namespace swarm {

// What is stored of one call.
struct CallRecord {
  v1::ModelCall call;         // subtask_id, model, outcome, usage, cost, latency (attempt/step: the caller's)
  std::string request_body;   // as sent
  std::string response_body;  // as received (the event stream when streamed), at most 4 MiB
  bool refused_by_run_budget = false;  // the run's budget could not cover it: the run should stop
};

struct GatewayOptions {
  double budget_usd = 0;       // 0: no cap
  double per_subtask_usd = 0;  // 0: no cap
  double spent_usd = 0;        // spent by earlier sessions of the run
  std::map<std::string, double> spent_by_subtask = {};
  double per_group_usd = 0;                          // 0: no cap on a group of subtasks (a backlog's issue)
  std::map<std::string, std::string> group_of = {};  // subtask -> its group
};

// The calls a run passes through to a model: what the coordinator needs of the gateway (a seam for
// its tests). `done` may run on any thread; Cancel of a finished call does nothing.
class ModelCaller {
 public:
  virtual ~ModelCaller() = default;
  using Done = std::function<void(absl::StatusOr<v1::ChatReply>, CallRecord)>;
  virtual std::uint64_t Complete(const std::string& subtask_id, v1::ChatRequest request, Done done) = 0;
  virtual void Cancel(std::uint64_t call) = 0;
};

class ModelGateway final : public ModelCaller {
 public:
  // Starts the gateway's thread. For the scripted providers it first starts the scripted model
  // server on loopback from the script named as the model. InvalidArgument for a budget on a
  // model without prices, or a script that does not load.
  static absl::StatusOr<std::unique_ptr<ModelGateway>> Start(ResolvedModel model, GatewayOptions options = {});
  ~ModelGateway() override;  // calls still in flight end with Cancelled, recorded at their reservation
  ModelGateway(const ModelGateway&) = delete;
  ModelGateway& operator=(const ModelGateway&) = delete;

  // `done` runs on the gateway's thread. Errors: ResourceExhausted (the budget cannot cover the
  // call: nothing was sent), InvalidArgument (the request), Unavailable or DeadlineExceeded (the
  // provider failed after every retry), DataLoss (a reply cut off or not JSON), PermissionDenied
  // (TLS refused), FailedPrecondition (the provider refused the key, the model or the account),
  // InvalidArgument also when the provider refused the request itself (too long, malformed).
  // Returns the call's id, for Cancel.
  std::uint64_t Complete(const std::string& subtask_id, v1::ChatRequest request, Done done) override;
  // The agent that asked is gone: the call is not retried, and ends Cancelled if it has to wait.
  void Cancel(std::uint64_t call) override;
  // Blocks until done; not on the gateway's thread.
  absl::StatusOr<v1::ChatReply> CompleteAndWait(const std::string& subtask_id, v1::ChatRequest request,
                                                CallRecord* record = nullptr);

  // Bills `subtask`'s calls to `group` from now on (GatewayOptions::group_of, for subtasks made later).
  void JoinGroup(const std::string& subtask, const std::string& group);

  const ResolvedModel& model() const;
  std::string base_url() const;  // where requests go (the scripted server's address for scripted:)
  double spent_usd() const;
  bool budget_exhausted() const;  // a call was refused because the run's budget could not cover it

  // The run's rate limiter now: readable from any thread, for progress and the report.
  struct LimiterState {
    int configured = 0;  // the concurrency it started with
    int limit = 0;       // now: halved after a 429, grown back after successes
    int in_flight = 0;
    int peak_in_flight = 0;
  };
  LimiterState limiter() const;

 private:
  struct Impl;
  explicit ModelGateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarm

#endif  // SWARM_MODELS_MODEL_GATEWAY_H_
