// --shard GLOB --parts K: the tracked files at the base matching GLOB (as git pathspecs match, so
// `*.c` matches at any depth), sorted bytewise, cut into K contiguous chunks balanced by file count.
// The shards form one atomic group unless `independent`.
#ifndef SWARM_ORCHESTRATOR_PLAN_SHARD_PLANNER_H_
#define SWARM_ORCHESTRATOR_PLAN_SHARD_PLANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/plan/plan.h"
#include "git/git.h"

namespace swarm {

struct ShardOptions {
  std::string glob;
  int parts = 0;
  bool independent = false;
};

inline constexpr char kShardGroup[] = "shards";

// Whether `glob` can select files of the repository: relative, no ".." or ".git" component, no
// control characters, no git pathspec magic. InvalidArgument naming the glob and the reason.
absl::Status CheckShardGlob(const std::string& glob);

// Reads `repo` at commit `base` without touching its index or work tree. InvalidArgument when K <= 0,
// the glob fails CheckShardGlob, nothing matches, or a matching file is stored in Git LFS. Appends a warning when K exceeds the
// number of files (one shard per file then).
absl::StatusOr<Plan> MakeShardPlan(const Git& repo, const std::string& base, const ShardOptions& options,
                                   std::vector<std::string>* warnings);

// The files of each of `parts` contiguous chunks of `files` (sizes differ by at most one).
std::vector<std::vector<std::string>> SplitEvenly(const std::vector<std::string>& files, int parts);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_PLAN_SHARD_PLANNER_H_
