#include "agents/start_credits.h"

#include <algorithm>

namespace swarm {

StartCredits::StartCredits(int slots, int parallel_starts)
    : slots_(std::max(1, slots)), parallel_starts_(std::max(1, parallel_starts)) {}

int StartCredits::Ask() {
  // Every lease asked for may arrive: it must find a free slot and a free start.
  int n = std::min(slots_ - held_ - asked_, parallel_starts_ - starting_ - asked_);
  if (n <= 0) return 0;
  asked_ += n;
  return n;
}

void StartCredits::Leased() {
  if (asked_ > 0) --asked_;  // a lease not asked for (a coordinator at fault) still holds a slot
  ++held_;
  ++starting_;
}

void StartCredits::Started() {
  if (starting_ > 0) --starting_;
}

void StartCredits::Ended(bool started) {
  if (!started) Started();
  if (held_ > 0) --held_;
}

}  // namespace swarm
