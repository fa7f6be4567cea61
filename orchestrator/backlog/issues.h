// A backlog's issues, read from what an issue tracker's command line prints:
//   gh issue list --json number,title,body,labels,url    (a JSON array)
//   glab issue list --output json                        (a JSON array: iid, title, description, labels, web_url)
//   JSON lines of {"id", "title", "body", "labels"?, "url"?}
// Every issue is checked before anything starts: an error names the file, the issue and the field.
#ifndef SWARM_ORCHESTRATOR_BACKLOG_ISSUES_H_
#define SWARM_ORCHESTRATOR_BACKLOG_ISSUES_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

// An issue's body is cut to this many bytes (the rest is said to be cut): it goes into every prompt.
inline constexpr std::size_t kMaxIssueBodyBytes = 64 << 10;

// Parses `text` (read from `source`, which errors name). InvalidArgument names what is wrong: not
// JSON, an issue that is not an object, a field missing or of the wrong type, an id that cannot be a
// branch name ([A-Za-z0-9._-]+, no "..", not ending in "." or ".lock"), an id used twice.
absl::StatusOr<std::vector<v1::Issue>> ParseIssues(std::string_view text, std::string_view source);

struct IssueSelection {
  std::vector<v1::Issue> chosen;
  std::vector<v1::SkippedIssue> skipped;  // `skip` said why, or beyond --max-issues
};
// The issues with `label` (empty: all) that `skip` (when given) gives no reason to skip, the first
// `max_issues` of them (0: all); the others are skipped with `skip`'s reason, or "--max-issues".
IssueSelection SelectIssues(const std::vector<v1::Issue>& issues, const std::string& label, int max_issues,
                            const std::function<std::string(const v1::Issue&)>& skip = nullptr);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_BACKLOG_ISSUES_H_
