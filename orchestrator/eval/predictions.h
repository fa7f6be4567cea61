// Predictions in SWE-bench's format: JSON lines (or a JSON array) of
//   {"instance_id", "model_name_or_path", "model_patch"}
// read by `swarm eval --predictions` and written by every eval, so that SWE-bench's own harness can
// grade swarm's patches and swarm can grade anyone's.
#ifndef SWARM_ORCHESTRATOR_EVAL_PREDICTIONS_H_
#define SWARM_ORCHESTRATOR_EVAL_PREDICTIONS_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace swarm {

struct Prediction {
  std::string model;  // model_name_or_path
  std::string patch;  // "" for none (null in the file)
};

// By instance id. InvalidArgument names the line and the field: not JSON, no instance_id, a patch that
// is not a string or null, an id predicted twice.
absl::StatusOr<std::map<std::string, Prediction>> ParsePredictions(std::string_view text, std::string_view source);

// One line of the JSONL (with its newline).
std::string PredictionLine(const std::string& instance_id, const Prediction& prediction);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVAL_PREDICTIONS_H_
