// `swarm eval`: grading like SWE-bench inside the product (docs/eval.md). Instances in SWE-bench's
// format, repositories from local clones, each repository's environment from a spec file; the model's
// patches graded in the sandbox; a table, report.json and predictions in SWE-bench's JSONL out.
//
// Where the patches come from: `--model gold` (the instances' own patches: every instance must resolve,
// or the harness is wrong), `--model empty` (no patch: none may resolve), or `--predictions FILE`
// (SWE-bench's predictions JSONL, from any system).
#ifndef SWARM_ORCHESTRATOR_EVAL_EVAL_COMMAND_H_
#define SWARM_ORCHESTRATOR_EVAL_EVAL_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

struct EvalOptions {
  std::string instances_file;
  std::string repos_dir;  // one clone per repository: DIR/owner/name or DIR/owner__name
  std::string spec_file;
  std::string model;                      // "gold" or "empty"
  std::string predictions_file;           // instead of --model
  std::vector<std::string> instance_ids;  // only these (empty: all)
  std::string out_dir;                    // empty: <state>/evals/<id>
  std::string state_dir;                  // empty: the default
  int workers = 1;
  bool keep_checkouts = false;  // leave each graded tree in <out>/work/<instance>
  bool resume = false;          // keep what an earlier eval in --out graded (same model), grade the rest
};

// Grades every instance; writes <out>/report.json, <out>/predictions.jsonl and <out>/logs/<id>.log;
// prints the table. Exit status: 0 when every instance was graded (with gold, all resolved; with
// empty, none), 1 when some could not be graded or gold and empty disagree with the tests, 2 on bad
// input (nothing is graded), 3 when the sandbox cannot run here.
absl::Status EvalCommand(const EvalOptions& options, std::ostream& out, std::ostream& err);

// The clone of `repo` ("owner/name") in `repos_dir`: its git directory. NotFound names where it looked.
absl::StatusOr<std::string> FindRepoClone(const std::string& repos_dir, const std::string& repo);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVAL_EVAL_COMMAND_H_
