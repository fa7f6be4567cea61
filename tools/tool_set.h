// The tools an LLM agent is offered, by name, with their JSON Schemas, and the one place a model's
// tool call is checked and carried out. A call naming an unknown tool, with arguments that are not a
// JSON object, or with an argument of the wrong type, is a format error: an observation telling the
// model what was wrong, never an action. `run` and `run_tests` need a sandbox, which the agent
// provides as a Runner.
#ifndef SWARM_TOOLS_TOOL_SET_H_
#define SWARM_TOOLS_TOOL_SET_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "swarm/v1/model.pb.h"

namespace swarm {

struct ToolOutcome {
  std::string observation;  // what the model reads next
  bool format_error = false;  // the call itself was malformed (counts towards repeated_format_errors)
  bool failed = false;        // the tool ran and reported an error (a normal observation for the model)
  bool submitted = false;     // submit(summary) was called
  std::string summary;        // with submitted
};

// Runs a command in the sandbox, in the workspace (`run`), or the run's tests on a throwaway copy of
// it (`run_tests`); returns the observation: the output, cut to kMaxObservationBytes by the runner
// (keeping the end, with a note), and the exit status.
struct Runner {
  std::function<std::string(const std::string& command)> run;
  std::function<std::string()> run_tests;
};

class ToolSet {
 public:
  // `root`: the workspace, canonical. `deadline`: the attempt's; the file tools stop their work there
  // (the runner bounds its commands itself).
  ToolSet(std::string root, Runner runner,
          std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

  // list_dir, read_file, search, edit, create_file, run, run_tests, submit.
  const std::vector<v1::ToolSpec>& specs() const { return specs_; }

  ToolOutcome Call(const v1::ToolCall& call) const;

 private:
  std::string root_;
  Runner runner_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<v1::ToolSpec> specs_;
};

}  // namespace swarm

#endif  // SWARM_TOOLS_TOOL_SET_H_
