// An issues file for `swarm backlog`: what `gh issue list --json`, `glab issue list --output json`
// or a user's JSON lines give, parsed and checked (ids, fields, sizes), then selected by label.
#include <cstddef>
#include <cstdint>
#include <string>

#include "orchestrator/backlog/issues.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<swarm::v1::Issue>> issues = swarm::ParseIssues(text, "issues.json");
  if (issues.ok()) (void)swarm::SelectIssues(*issues, "swarm", 3);
  return 0;
}
