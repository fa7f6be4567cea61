// The sandbox every agent command runs under, whatever the agent kind: the run's policy (its
// SandboxSpec), the attempt's workspace writable, the objects its git needs and the attempt's meta
// directory readable, and the attempt's SWARM_* variables.
#ifndef SWARM_AGENTS_AGENT_SANDBOX_H_
#define SWARM_AGENTS_AGENT_SANDBOX_H_

#include <string>

#include "sandbox/sandbox_policy.h"
#include "sandbox/workspace.h"
#include "swarm/v1/agent.pb.h"

namespace swarm {

// Writes the attempt's meta directory: subtask.json (and conflict.json after a conflict).
void WriteAttemptMeta(const std::string& meta_dir, const v1::Lease& lease);

SandboxPolicy AgentSandboxPolicy(const v1::Registered& run, const v1::Lease& lease, const Workspace& workspace,
                                 const std::string& meta_dir);

}  // namespace swarm

#endif  // SWARM_AGENTS_AGENT_SANDBOX_H_
