#include "orchestrator/merge/culprits.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace swarm {

Attribution AttributeFailure(const IntegrationRepo& repo, const MergeRequest& request, const std::string& log_path) {
  Attribution a;
  std::ifstream f(log_path, std::ios::binary);
  std::stringstream buf;
  buf << f.rdbuf();
  const std::string log = buf.str();
  std::vector<std::string> members;
  for (const auto& p : request.patches) {
    members.push_back(p.subtask_id);
    absl::StatusOr<std::string> files =
        repo.git().Run({"diff", "--name-only", "--no-renames", p.commit + "^", p.commit});
    if (!files.ok() || log.empty()) continue;
    for (absl::string_view file : absl::StrSplit(*files, '\n', absl::SkipEmpty())) {
      std::string path(file);
      // The path as the tests print it: relative to the root, or just the file's name.
      std::string name = std::filesystem::path(path).filename().string();
      if (log.find(path) != std::string::npos || (name.size() > 2 && log.find(name) != std::string::npos)) {
        a.culprits[p.subtask_id].push_back(path);
      }
    }
  }
  if (a.culprits.empty()) {
    a.summary = absl::StrCat("not attributable to a member (members: ", absl::StrJoin(members, ", "), ")");
    return a;
  }
  std::vector<std::string> parts;
  for (const auto& [id, files] : a.culprits) parts.push_back(absl::StrCat(id, " (", absl::StrJoin(files, ", "), ")"));
  a.summary = absl::StrCat("attributed to ", absl::StrJoin(parts, "; "), " from the failure output");
  return a;
}

}  // namespace swarm
