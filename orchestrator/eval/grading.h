// Grading one instance as SWE-bench grades it: on the base commit, apply the model's patch; restore
// every file the test patch touches to the base and apply the test patch (so a model patch that edits
// those tests cannot spoof them); run the setup commands and the tests in the sandbox, which sees the
// tree but not its history; read the results test by test. Resolved when every FAIL_TO_PASS test
// passes and every PASS_TO_PASS test still passes; a skipped or missing test is not a pass, and a run
// with no evidence that the tests ran resolves nothing. When none of the instance's tests ran, the
// gold patch tells whose fault that is: the patch's (unresolved) or the environment's (error).
#ifndef SWARM_ORCHESTRATOR_EVAL_GRADING_H_
#define SWARM_ORCHESTRATOR_EVAL_GRADING_H_

#include <string>
#include <vector>

#include "orchestrator/eval/eval_spec.h"
#include "orchestrator/eval/instances.h"
#include "test_results/test_results.h"

namespace swarm {

class Sandbox;

// How the wanted tests fared. A wanted id matches the result of that name, or (as SWE-bench stores ids
// cut at a space) every result whose name is the id followed by a space and more, or (unittest's
// "test_x (module.Class)", as SWE-bench stores Django's) the result "module.Class.test_x"; it passes
// when at least one result matches and all that match passed.
struct TestTally {
  std::vector<std::string> passed;
  std::vector<std::string> failed;  // failed, skipped or not run
};
TestTally Tally(const TestResults& results, const std::vector<std::string>& wanted);
// How many of `wanted` are among the results at all (passed or not).
std::size_t Matched(const TestResults& results, const std::vector<std::string>& wanted);

enum class GradeStatus {
  kResolved,
  kUnresolved,  // the patch did not apply, or a test it had to fix or keep failed
  kError,       // it could not be graded: the environment, the instance or swarm (the reason says)
};
std::string GradeStatusName(GradeStatus status);

struct Grade {
  GradeStatus status = GradeStatus::kError;
  std::string reason;  // empty when resolved
  TestTally fail_to_pass;
  TestTally pass_to_pass;
  int exit_code = -1;  // the test command's (128 + signal when killed)
  bool timed_out = false;
  double wall_s = 0;     // setup and tests
  std::string log_path;  // what each step printed
};

// Where and how an instance is graded.
struct GradingPlace {
  const Sandbox* sandbox = nullptr;
  std::string repo_git_dir;  // the local clone of the instance's repository (its .git, or a bare one)
  const RepoEnvironment* environment = nullptr;
  std::string work_dir;                   // a directory that must not exist: the checkout, removed at the end
  std::string log_path;                   // written whatever happens
  std::vector<std::string> hidden_paths;  // what the tests must not see (the state, the home, the output)
  bool keep_checkout = false;
};

// Grades `model_patch` (may be empty) against `instance`. Never fails: what went wrong is the grade's
// status and reason.
Grade GradeInstance(const EvalInstance& instance, const std::string& model_patch, const GradingPlace& place);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_EVAL_GRADING_H_
