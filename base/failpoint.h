// Crash points, for the tests that kill the coordinator at a known state. With
// SWARM_FAILPOINT=NAME:N in its environment, the process SIGKILLs itself the Nth time (default 1) it
// reaches the point NAME; with SWARM_FAILPOINT=NAME@KEY, the first time it reaches it for KEY (a
// subtask id). Without it, a point costs one comparison.
//
// Points: leased (a lease was recorded), tested (a candidate passed its tests; the ref has not
// moved), ref_moved (the ref moved; the Landed event is not written), group_test (a group's test is
// running), landed (a Landed event was written), idle (checked five times a second: something
// landed, leases are held, no patch or merge is in flight), fixup (a fix-up was recorded; its agent
// has not started), issue_planned (a backlog's issue's planning was recorded; key: the id).
#ifndef SWARM_BASE_FAILPOINT_H_
#define SWARM_BASE_FAILPOINT_H_

#include <string_view>

namespace swarm {

void Failpoint(std::string_view name, std::string_view key = {});

// Slow points, for the tests that show liveness holds under load. With SWARM_DELAYPOINT=NAME:MS in
// its environment, the calling thread sleeps MS milliseconds each time it reaches the point NAME.
//
// Points: workspace (an agent host makes an attempt's workspace, on its pool), record (the
// coordinator writes an event to the store, on its executor).
void Delaypoint(std::string_view name);

}  // namespace swarm

#endif  // SWARM_BASE_FAILPOINT_H_
