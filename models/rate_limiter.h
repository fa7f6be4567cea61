// One provider key's limits, shared by every agent of the run: requests in flight at once, tokens per
// minute where configured, and pauses the provider asks for (429 with Retry-After, or rate-limit
// headers saying nothing is left until a reset). After a 429 the concurrency halves and grows back
// by one per window of successes. Callers are admitted in arrival order. Lives on the gateway's
// io_context thread.
#ifndef SWARM_MODELS_RATE_LIMITER_H_
#define SWARM_MODELS_RATE_LIMITER_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace swarm {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // `window` is a minute but for tests.
  RateLimiter(boost::asio::io_context& io, int concurrency, int tokens_per_minute,
              std::chrono::milliseconds window = std::chrono::minutes(1));

  // Waits until a request estimated at `tokens` may go. Returns the admission's id for Release.
  boost::asio::awaitable<std::uint64_t> Acquire(std::uint64_t tokens);
  // The request ended; `actual_tokens` replaces its estimate in the minute's count (0: keep it).
  void Release(std::uint64_t id, std::uint64_t actual_tokens, bool succeeded);
  // The provider said 429: everyone waits `retry_after`, and the concurrency halves.
  void OnRateLimited(std::chrono::milliseconds retry_after);
  // Reads x-ratelimit-* (OpenAI and compatibles) and anthropic-ratelimit-* headers.
  void OnHeaders(const std::map<std::string, std::string>& headers);

  // Readable from any thread.
  int max_limit() const { return max_limit_; }
  int limit() const { return limit_.load(std::memory_order_relaxed); }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int peak_in_flight() const { return peak_.load(std::memory_order_relaxed); }

 private:
  void PauseUntil(Clock::time_point until);
  void WakeFront();
  Clock::time_point TokensFreeAt(std::uint64_t tokens, Clock::time_point now);

  boost::asio::io_context& io_;
  const int max_limit_;
  const int tokens_per_minute_;
  const std::chrono::milliseconds window_;
  // Written on the io_context's thread only; atomic so that progress can read them.
  std::atomic<int> limit_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> peak_{0};
  int successes_ = 0;
  Clock::time_point paused_until_{};
  Clock::time_point last_decrease_{};
  std::deque<boost::asio::steady_timer*> waiters_;  // front is admitted first
  struct Spend {
    Clock::time_point at;
    std::uint64_t id;
    std::uint64_t tokens;
  };
  std::deque<Spend> minute_;  // admissions of the last minute
  std::uint64_t next_id_ = 1;
};

// "1s", "6m0s", "250ms", "1.5s" (OpenAI's reset headers) or an RFC 3339 time (Anthropic's), as a
// wait from now. Nothing for what does not parse.
std::optional<std::chrono::milliseconds> ParseResetHeader(const std::string& value);
// Retry-After in seconds or as an HTTP date, or retry-after-ms.
std::optional<std::chrono::milliseconds> RetryAfter(const std::map<std::string, std::string>& headers);

}  // namespace swarm

#endif  // SWARM_MODELS_RATE_LIMITER_H_
