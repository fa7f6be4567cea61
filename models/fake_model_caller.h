// A ModelCaller for tests: it keeps each call, and the test finishes it when it chooses.
#ifndef SWARM_MODELS_FAKE_MODEL_CALLER_H_
#define SWARM_MODELS_FAKE_MODEL_CALLER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "models/model_gateway.h"

namespace swarm {

class FakeModelCaller final : public ModelCaller {
 public:
  struct Call {
    std::string subtask_id;
    v1::ChatRequest request;
    Done done;
  };
  std::uint64_t Complete(const std::string& subtask_id, v1::ChatRequest request, Done done) override {
    calls_[++next_] = {subtask_id, std::move(request), std::move(done)};
    return next_;
  }
  void Cancel(std::uint64_t call) override { cancelled_.insert(call); }

  // Finishes call `id` with `reply`; the record names the subtask and, for a refusal on the run's
  // budget, says so.
  void Finish(std::uint64_t id, absl::StatusOr<v1::ChatReply> reply, bool refused_by_run_budget = false) {
    Call call = std::move(calls_.at(id));
    calls_.erase(id);
    CallRecord record;
    record.call.set_subtask_id(call.subtask_id);
    record.request_body = call.request.SerializeAsString();
    record.refused_by_run_budget = refused_by_run_budget;
    call.done(std::move(reply), std::move(record));
  }
  const std::map<std::uint64_t, Call>& open() const { return calls_; }
  const std::set<std::uint64_t>& cancelled() const { return cancelled_; }

 private:
  std::uint64_t next_ = 0;
  std::map<std::uint64_t, Call> calls_;
  std::set<std::uint64_t> cancelled_;
};

}  // namespace swarm

#endif  // SWARM_MODELS_FAKE_MODEL_CALLER_H_
