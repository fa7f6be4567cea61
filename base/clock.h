// Time as the run's logic sees it: the real steady clock in production, a clock the test moves in
// unit tests, so that expiry and time-outs are tested without sleeping.
#ifndef SWARM_BASE_CLOCK_H_
#define SWARM_BASE_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace swarm {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  // One for the process: it has no state.
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

// Starts at an arbitrary point and moves only when told. Not thread-safe: tests drive it from one thread.
class FakeClock final : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::steady_clock::duration d) { now_ += d; }

 private:
  TimePoint now_ = TimePoint(std::chrono::hours(1));
};

// The wall clock in milliseconds since the epoch: what is shown and stored as a time of day.
inline std::int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace swarm

#endif  // SWARM_BASE_CLOCK_H_
