// SWE-bench task instances, as its datasets store them: JSON lines (or one JSON array) of
//   {"instance_id", "repo": "owner/name", "base_commit", "problem_statement", "patch", "test_patch",
//    "FAIL_TO_PASS", "PASS_TO_PASS", "version"}
// where FAIL_TO_PASS and PASS_TO_PASS are lists of test ids, or JSON strings holding such a list (as
// the Hugging Face exports hold them). Other fields are ignored. Every instance is checked before
// anything starts: an error names the file, the line (or position) and the field.
#ifndef SWARM_ORCHESTRATOR_EVAL_INSTANCES_H_
#define SWARM_ORCHESTRATOR_EVAL_INSTANCES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

struct EvalInstance {
  std::string id;                         // instance_id: also a file and branch name ([A-Za-z0-9._-], no "..")
  std::string repo;                       // "owner/name"
  std::string base_commit;                // 7 to 40 hexadecimal digits
  std::string problem_statement;          // the task
  std::string patch;                      // the gold patch (may be empty in a file of problems only)
  std::string test_patch;                 // the tests that grade it, applied after the model's patch
  std::vector<std::string> fail_to_pass;  // must pass with the fix (they fail without it)
  std::vector<std::string> pass_to_pass;  // must still pass
  std::string version;                    // "" when the instance has none
};

// Parses `text` read from `source`. InvalidArgument names the instance and the field: not JSON, a
// missing or mistyped field, an id that is not a safe name or is used twice, a repo that is not
// owner/name, a base_commit that is not hexadecimal, no FAIL_TO_PASS test.
absl::StatusOr<std::vector<EvalInstance>> ParseInstances(std::string_view text, std::string_view source);

// The files a unified diff (git's format) changes, in order, each once: the "b/" side, or the "a/"
// side of a deletion. Quoted names (git quotes unusual characters) are unquoted.
std::vector<std::string> PatchedFiles(std::string_view patch);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVAL_INSTANCES_H_
