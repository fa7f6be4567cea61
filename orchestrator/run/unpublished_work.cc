#include "orchestrator/run/unpublished_work.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "git/git.h"
#include "git/integration_repo.h"

namespace swarm {

bool HasUnpublishedWork(const RunRow& run) {
  absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo = IntegrationRepo::Open(run.run_dir + "/integration.git");
  if (!repo.ok()) return false;
  // The run's ref and, in a backlog, each lane's.
  absl::StatusOr<std::string> heads =
      (*repo)->git().Run({"for-each-ref", "--format=%(objectname)", std::string(kIntegrationRef), "refs/heads/lanes/"});
  if (!heads.ok()) return true;
  std::vector<std::string> moved;
  for (absl::string_view head : absl::StrSplit(*heads, '\n', absl::SkipEmpty())) {
    if (head != run.base) moved.emplace_back(head);
  }
  if (moved.empty()) return false;
  absl::StatusOr<Git> user = Git::Open(run.repo);
  if (!user.ok()) return true;
  // Published: some ref of the user's repository holds each head (the result branch, or wherever the
  // user merged it).
  for (const std::string& head : moved) {
    absl::StatusOr<std::string> holders = user->Run({"for-each-ref", "--count=1", "--contains", head, "refs/"});
    if (!holders.ok() || holders->empty()) return true;
  }
  return false;
}

}  // namespace swarm
