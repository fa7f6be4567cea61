// Broken invariants: a bug in swarm, never bad input (bad input gets a Status). SWARM_CHECK(cond)
// << "context" prints the file, line, condition and context to stderr and aborts, so a core dump or
// the log names the invariant instead of an unnamed std::out_of_range from map::at. On in every build.
#ifndef SWARM_BASE_CHECK_H_
#define SWARM_BASE_CHECK_H_

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace swarm::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    stream_ << "swarm: invariant broken at " << file << ":" << line << ": " << condition;
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_ << ": "; }

 private:
  std::ostringstream stream_;
};

}  // namespace swarm::internal

#define SWARM_CHECK(condition) \
  if (condition) {             \
  } else                       \
    ::swarm::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

namespace swarm {

// The value of `key` in `map`, which must hold it.
template <typename Map, typename Key>
auto& MustFind(Map& map, const Key& key, const char* what) {
  auto it = map.find(key);
  SWARM_CHECK(it != map.end()) << what << " " << key << " is unknown";
  return it->second;
}

}  // namespace swarm

#endif  // SWARM_BASE_CHECK_H_
