// The commit message of a landing, and the trailers `swarm resume` reads back from it.
#ifndef SWARM_ORCHESTRATOR_MERGE_INTERNAL_LANDING_MESSAGE_H_
#define SWARM_ORCHESTRATOR_MERGE_INTERNAL_LANDING_MESSAGE_H_

#include <string>

#include "git/integration_repo.h"
#include "orchestrator/merge/merge_queue.h"

namespace swarm {

// The commit message of a landing: the subtask's title and id with its agent's summary as the body,
// or the group with each member's; then the trailers (swarm-run, swarm-subtask, swarm-group, and the
// author's Signed-off-by when asked). A summary is the agent's text: it is made plain text here,
// and nothing in it can pass for a trailer.
std::string LandingMessage(const MergeRequest& request, const std::string& run_id, const CommitAuthor& author = {});

// An agent's summary as a commit message may carry it: valid UTF-8 without control characters
// (tabs and newlines kept), no line git could take for a patch's start ("---"), trailing spaces and
// blank lines gone, runs of blank lines made one, at most 4 KiB.
std::string CommitBodyText(const std::string& summary);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_INTERNAL_LANDING_MESSAGE_H_
