// Comparing secrets (bearer tokens) without telling an attacker, through timing, how much matched.
#ifndef SWARM_BASE_TOKENS_EQUAL_H_
#define SWARM_BASE_TOKENS_EQUAL_H_

#include <string_view>

namespace swarm {

// Whether `a` and `b` are the same, in time that depends only on their lengths.
inline bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace swarm

#endif  // SWARM_BASE_TOKENS_EQUAL_H_
