// `swarm models`: what models are configured, and `swarm models check`, one small real request to see
// that a key and an endpoint work.
#ifndef SWARM_ORCHESTRATOR_MODELS_COMMAND_H_
#define SWARM_ORCHESTRATOR_MODELS_COMMAND_H_

#include <iosfwd>
#include <string>

#include "absl/status/status.h"

namespace swarm {

// Providers and models from the presets and the config files (`repo` for the project file), with
// prices and limits, and whether each provider's key variable is set. InvalidArgument when the config
// files cannot be read.
[[nodiscard]] absl::Status ListModels(const std::string& repo, std::ostream& out);

// Sends one small request with one tool definition to PROVIDER:MODEL and prints the reply, the tool
// call if any, latency, tokens and cost. OK when the model answered, InvalidArgument for bad input
// (exit 2), Unavailable when the endpoint failed (exit 3).
[[nodiscard]] absl::Status CheckModel(const std::string& ref, const std::string& base_url, const std::string& repo,
                                      std::ostream& out);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MODELS_COMMAND_H_
