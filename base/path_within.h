// Whether one path is another or lies beneath it, by their text (callers canonicalise first).
#ifndef SWARM_BASE_PATH_WITHIN_H_
#define SWARM_BASE_PATH_WITHIN_H_

#include <string_view>

namespace swarm {

// "/a/b" is within "/a/b" and "/a", not within "/a/bc"; everything is within "/".
inline bool PathWithin(std::string_view inner, std::string_view outer) {
  if (outer == "/") return !inner.empty() && inner[0] == '/';
  return inner == outer || (inner.size() > outer.size() && inner.starts_with(outer) && inner[outer.size()] == '/');
}

}  // namespace swarm

#endif  // SWARM_BASE_PATH_WITHIN_H_
