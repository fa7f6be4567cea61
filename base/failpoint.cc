#include "base/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace swarm {
namespace {

struct Armed {
  std::string name;
  std::string key;  // empty: any
  int at = 1;
  std::atomic<int> hits{0};
  Armed() {
    const char* spec = getenv("SWARM_FAILPOINT");
    if (spec == nullptr) return;
    name = spec;
    if (auto at_sign = name.find('@'); at_sign != std::string::npos) {
      key = name.substr(at_sign + 1);
      name.resize(at_sign);
    } else if (auto colon = name.find(':'); colon != std::string::npos) {
      at = std::max(1, atoi(name.c_str() + colon + 1));
      name.resize(colon);
    }
  }
};

struct Slow {
  std::string name;
  int ms = 0;
  Slow() {
    const char* spec = getenv("SWARM_DELAYPOINT");
    if (spec == nullptr) return;
    name = spec;
    if (auto colon = name.find(':'); colon != std::string::npos) {
      ms = std::max(0, atoi(name.c_str() + colon + 1));
      name.resize(colon);
    }
  }
};

}  // namespace

void Delaypoint(std::string_view name) {
  static Slow slow;
  if (slow.ms == 0 || slow.name != name) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(slow.ms));
}

void Failpoint(std::string_view name, std::string_view key) {
  static Armed armed;
  if (armed.name.empty() || armed.name != name) return;
  if (!armed.key.empty() && armed.key != key) return;
  if (armed.hits.fetch_add(1) + 1 != armed.at) return;
  std::string msg = "swarm: failpoint " + armed.name + " reached: killing myself\n";
  (void)!write(STDERR_FILENO, msg.data(), msg.size());
  kill(getpid(), SIGKILL);
}

}  // namespace swarm
