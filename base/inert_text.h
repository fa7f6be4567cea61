// Text an agent or a model wrote, made inert where it lands in a commit message or a pull request:
// a word that closes an issue on merge when it names one ("Fixes #3", "closes owner/repo#4",
// "Resolves https://..."; GitHub's and GitLab's words) and an @mention get a zero-width space after
// their first character, so that neither forge acts on them while people read them as written.
// Code (`inline` spans and ``` fenced blocks) is left as it is.
#ifndef SWARM_BASE_INERT_TEXT_H_
#define SWARM_BASE_INERT_TEXT_H_

#include <string>

namespace swarm {

std::string Inert(const std::string& text);

}  // namespace swarm

#endif  // SWARM_BASE_INERT_TEXT_H_
