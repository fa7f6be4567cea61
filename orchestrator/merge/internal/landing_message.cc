#include "orchestrator/merge/internal/landing_message.h"

#include "absl/strings/str_cat.h"

namespace swarm {

std::string LandingMessage(const MergeRequest& request, const std::string& run_id) {
  std::string msg;
  if (request.patches.size() == 1 && request.group.empty()) {
    const auto& p = request.patches[0];
    absl::StrAppend(&msg, p.title, " (", p.subtask_id, ")\n\nswarm-run: ", run_id, "\nswarm-subtask: ", p.subtask_id,
                    "\n");
    return msg;
  }
  absl::StrAppend(&msg, "group ", request.group, ": ", request.patches.size(), " subtasks\n\n");
  for (const auto& p : request.patches) absl::StrAppend(&msg, "- ", p.title, " (", p.subtask_id, ")\n");
  // Trailers: what `swarm resume` reads back when the ref moved and the event was never written.
  absl::StrAppend(&msg, "\nswarm-run: ", run_id, "\nswarm-group: ", request.group, "\n");
  for (const auto& p : request.patches) absl::StrAppend(&msg, "swarm-subtask: ", p.subtask_id, "\n");
  return msg;
}

}  // namespace swarm
