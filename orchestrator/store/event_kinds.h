// The closed sets of the event log (events.proto: attempt outcomes, rejection reasons, run states,
// test stages), read and written in one place. Each is an enum field beside an older string field:
// writing sets both (--json consumers may read the string); reading takes the enum, or, in an event
// stored before the enums, the string. A string outside the set reads as UNSPECIFIED.
#ifndef SWARM_ORCHESTRATOR_STORE_EVENT_KINDS_H_
#define SWARM_ORCHESTRATOR_STORE_EVENT_KINDS_H_

#include "swarm/v1/events.pb.h"

namespace swarm {

v1::AttemptOutcome OutcomeOf(const v1::AttemptFinished& e);
v1::RejectionReason ReasonOf(const v1::PatchRejected& e);
v1::RunState StateOf(const v1::RunFinished& e);
v1::TestStage StageOf(const v1::TestRun& e);

void SetOutcome(v1::AttemptFinished& e, v1::AttemptOutcome outcome);
void SetReason(v1::PatchRejected& e, v1::RejectionReason reason);
void SetState(v1::RunFinished& e, v1::RunState state);
void SetStage(v1::TestRun& e, v1::TestStage stage);

// The older string of each ("patch", "conflict", "completed", "check"); "" for UNSPECIFIED.
const char* Name(v1::AttemptOutcome outcome);
const char* Name(v1::RejectionReason reason);
const char* Name(v1::RunState state);
const char* Name(v1::TestStage stage);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_EVENT_KINDS_H_
