// `swarm models`: what models are configured, and `swarm models check`, one small real request to see
// that a key and an endpoint work.
#ifndef SWARM_ORCHESTRATOR_MODELS_COMMAND_H_
#define SWARM_ORCHESTRATOR_MODELS_COMMAND_H_

#include <iosfwd>
#include <string>

namespace swarm {

// Providers and models from the presets and the config files (`repo` for the project file), with
// prices and limits, and whether each provider's key variable is set. Returns the exit status.
int ListModels(const std::string& repo, std::ostream& out, std::ostream& err);

// Sends one small request with one tool definition to PROVIDER:MODEL and prints the reply, the tool
// call if any, latency, tokens and cost. Exit 0 when the model answered, 2 for bad input, 3 when
// the endpoint failed.
int CheckModel(const std::string& ref, const std::string& base_url, const std::string& repo, std::ostream& out,
               std::ostream& err);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MODELS_COMMAND_H_
