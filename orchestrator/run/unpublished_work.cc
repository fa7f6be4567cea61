#include "orchestrator/run/unpublished_work.h"

#include <memory>
#include <string>

#include "git/git.h"
#include "git/integration_repo.h"

namespace swarm {

bool HasUnpublishedWork(const RunRow& run) {
  absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo = IntegrationRepo::Open(run.run_dir + "/integration.git");
  if (!repo.ok()) return false;
  absl::StatusOr<std::string> head = (*repo)->Head();
  if (!head.ok() || *head == run.base) return false;
  absl::StatusOr<Git> user = Git::Open(run.repo);
  if (!user.ok()) return true;
  // Published: some ref of the user's repository holds the head (the result branch, or wherever the
  // user merged it).
  absl::StatusOr<std::string> holders = user->Run({"for-each-ref", "--count=1", "--contains", *head, "refs/"});
  return !holders.ok() || holders->empty();
}

}  // namespace swarm
