#include "orchestrator/store/event_kinds.h"

#include <array>
#include <string_view>
#include <utility>

namespace swarm {
namespace {

template <typename Enum, std::size_t N>
using Names = std::array<std::pair<Enum, const char*>, N>;

constexpr Names<v1::AttemptOutcome, 3> kOutcomes = {{{v1::ATTEMPT_OUTCOME_PATCH, "patch"},
                                                     {v1::ATTEMPT_OUTCOME_NO_CHANGE, "no_change"},
                                                     {v1::ATTEMPT_OUTCOME_FAILED, "failed"}}};
constexpr Names<v1::RejectionReason, 4> kReasons = {{{v1::REJECTION_REASON_CONFLICT, "conflict"},
                                                     {v1::REJECTION_REASON_TESTS_FAILED, "tests_failed"},
                                                     {v1::REJECTION_REASON_CHECK_FAILED, "check_failed"},
                                                     {v1::REJECTION_REASON_MERGE_ERROR, "merge_error"}}};
constexpr Names<v1::RunState, 4> kStates = {{{v1::RUN_STATE_COMPLETED, "completed"},
                                             {v1::RUN_STATE_CANCELLED, "cancelled"},
                                             {v1::RUN_STATE_FAILED, "failed"},
                                             {v1::RUN_STATE_BUDGET, "budget"}}};
constexpr Names<v1::TestStage, 3> kStages = {
    {{v1::TEST_STAGE_HEAD, "head"}, {v1::TEST_STAGE_CHECK, "check"}, {v1::TEST_STAGE_QUEUE, "queue"}}};

template <typename Enum, std::size_t N>
const char* NameIn(const Names<Enum, N>& names, Enum value) {
  for (const auto& [e, name] : names) {
    if (e == value) return name;
  }
  return "";
}

// The enum when it was written; else the older string's.
template <typename Enum, std::size_t N>
Enum Read(const Names<Enum, N>& names, Enum value, std::string_view older) {
  if (static_cast<int>(value) != 0) return value;
  for (const auto& [e, name] : names) {
    if (older == name) return e;
  }
  return static_cast<Enum>(0);
}

}  // namespace

v1::AttemptOutcome OutcomeOf(const v1::AttemptFinished& e) { return Read(kOutcomes, e.attempt_outcome(), e.outcome()); }
v1::RejectionReason ReasonOf(const v1::PatchRejected& e) { return Read(kReasons, e.rejection_reason(), e.reason()); }
v1::RunState StateOf(const v1::RunFinished& e) { return Read(kStates, e.run_state(), e.state()); }
v1::TestStage StageOf(const v1::TestRun& e) { return Read(kStages, e.test_stage(), e.stage()); }

void SetOutcome(v1::AttemptFinished& e, v1::AttemptOutcome outcome) {
  e.set_attempt_outcome(outcome);
  e.set_outcome(Name(outcome));
}
void SetReason(v1::PatchRejected& e, v1::RejectionReason reason) {
  e.set_rejection_reason(reason);
  e.set_reason(Name(reason));
}
void SetState(v1::RunFinished& e, v1::RunState state) {
  e.set_run_state(state);
  e.set_state(Name(state));
}
void SetStage(v1::TestRun& e, v1::TestStage stage) {
  e.set_test_stage(stage);
  e.set_stage(Name(stage));
}

const char* Name(v1::AttemptOutcome outcome) { return NameIn(kOutcomes, outcome); }
const char* Name(v1::RejectionReason reason) { return NameIn(kReasons, reason); }
const char* Name(v1::RunState state) { return NameIn(kStates, state); }
const char* Name(v1::TestStage stage) { return NameIn(kStages, stage); }

}  // namespace swarm
