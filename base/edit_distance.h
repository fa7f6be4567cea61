// How far apart two strings are: the fewest single-character insertions, deletions and substitutions
// that turn one into the other (Levenshtein). For suggestions ("did you mean"), not for large inputs:
// it takes time a.size() * b.size().
#ifndef SWARM_BASE_EDIT_DISTANCE_H_
#define SWARM_BASE_EDIT_DISTANCE_H_

#include <cstddef>
#include <string_view>

namespace swarm {

std::size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace swarm

#endif  // SWARM_BASE_EDIT_DISTANCE_H_
