#include "orchestrator/run/run_result.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace swarm {

RunResult PublishRunResult(const IntegrationRepo& repo, const Git& user, const std::string& branch,
                           const std::string& base, const std::string& run_dir, bool move_forward) {
  RunResult result;
  absl::StatusOr<std::string> head = repo.Head();
  result.head = head.ok() ? *head : base;
  if (result.head != base) {
    if (absl::Status st = repo.Publish(user, "refs/heads/" + branch, move_forward, base); st.ok()) {
      result.branch = branch;
    } else {
      result.publish_error = std::string(st.message());
    }
  }
  absl::StatusOr<std::string> diff = repo.git().Run({"diff", "--binary", "--full-index", base, result.head});
  result.patch_path = run_dir + "/result.patch";
  std::ofstream out(result.patch_path, std::ios::binary | std::ios::trunc);
  out << (diff.ok() ? *diff : "");
  out.close();
  if (!out) result.patch_error = absl::StrCat("cannot write ", result.patch_path, ": ", std::strerror(errno));
  if (!diff.ok()) result.patch_error = absl::StrCat("cannot compute the result's diff: ", diff.status().message());
  return result;
}

}  // namespace swarm
