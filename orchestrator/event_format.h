// One line per event for people watching a run (`swarm watch`, `swarm run --server`), e.g.
// "#12 landed a (commit 1a2b3c4d5e6f)". Pipelines use EventToJson (store.h) instead.
#ifndef SWARM_ORCHESTRATOR_EVENT_FORMAT_H_
#define SWARM_ORCHESTRATOR_EVENT_FORMAT_H_

#include <string>

#include "swarm/v1/events.pb.h"

namespace swarm {

// The line, without its newline.
std::string FormatEvent(const v1::Event& event);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVENT_FORMAT_H_
