// The run's money: before each model call its worst case is reserved (the request's bytes as an
// upper bound on its prompt tokens, at the highest input price, plus its max output tokens); after
// it, the reservation is settled to the cost of the reported usage, or kept whole when the provider
// reported none. A call whose reservation does not fit is refused, so spending never passes a cap.
// Thread-safe.
#ifndef SWARM_MODELS_BUDGET_H_
#define SWARM_MODELS_BUDGET_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/statusor.h"
#include "models/model_config.h"
#include "swarm/v1/model.pb.h"

namespace swarm {

// Tokens a provider may add beyond the request's bytes (its tool-use system prompt, chat template).
inline constexpr std::uint64_t kProviderOverheadTokens = 1024;
double WorstCaseUsd(const ModelInfo& model, std::size_t request_bytes, std::uint32_t max_output_tokens);
double CostUsd(const ModelInfo& model, const v1::Usage& usage);

// How a refusal by a group's cap (a backlog issue's) reads: "issue ID's budget of $X cannot ...".
inline constexpr char kGroupBudgetWords[] = "'s budget of ";

class Budget {
 public:
  // Caps of 0 are no cap. `spent` carries what earlier sessions of the run spent (swarm resume).
  // `group_of` puts subtasks in groups (a backlog's lanes: one per issue), each capped at
  // `per_group_usd`.
  Budget(double run_usd, double per_subtask_usd, double spent = 0, std::map<std::string, double> spent_by_subtask = {},
         double per_group_usd = 0, std::map<std::string, std::string> group_of = {});

  struct Reservation {
    std::string subtask;
    double usd = 0;
  };
  // ResourceExhausted, naming the cap, when the reservation does not fit. A call that does not fit
  // even with nothing else in flight marks the run's budget exhausted.
  // `*may_wait` (when given) says whether a refused call would fit once reservations now in flight
  // settle, so that waiting for them makes sense.
  absl::StatusOr<Reservation> Reserve(const std::string& subtask, double usd, bool* may_wait = nullptr);
  // Spending that reaches the run's cap also marks it exhausted.
  void Settle(const Reservation& reservation, double actual_usd);
  // Puts `subtask` in `group` from now on (a backlog's planned subtasks join their issue's group once
  // the issue is planned); what it spent so far counts. A subtask already in a group stays there.
  void Join(const std::string& subtask, const std::string& group);

  double spent() const;
  double reserved() const;
  bool exhausted() const;

 private:
  const double run_usd_;
  const double per_subtask_usd_;
  const double per_group_usd_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> group_of_ ABSL_GUARDED_BY(mu_);  // subtask -> its group
  double spent_ ABSL_GUARDED_BY(mu_);
  double reserved_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, double> subtask_spent_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> subtask_reserved_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> group_spent_ ABSL_GUARDED_BY(mu_);     // group -> spent
  std::map<std::string, double> group_reserved_ ABSL_GUARDED_BY(mu_);  // group -> reserved now
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace swarm

#endif  // SWARM_MODELS_BUDGET_H_
