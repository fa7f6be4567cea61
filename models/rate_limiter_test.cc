#include "models/rate_limiter.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace swarm {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Each caller acquires, holds its admission for `hold`, and records when it was admitted.
void Callers(RateLimiter& limiter, asio::io_context& io, int n, std::uint64_t tokens, std::chrono::milliseconds hold,
             std::vector<Clock::duration>& admitted) {
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(
        io,
        [&, start]() -> asio::awaitable<void> {
          const std::uint64_t id = co_await limiter.Acquire(tokens);
          admitted.push_back(Clock::now() - start);
          asio::steady_timer t(io, hold);
          co_await t.async_wait(asio::use_awaitable);
          limiter.Release(id, 0, true);
        },
        asio::detached);
  }
  io.run();
}

TEST(RateLimiterTest, TokensPerWindowHoldCallersUntilTheWindowMovesOn) {
  asio::io_context io;
  RateLimiter limiter(io, 16, 1000, 300ms);
  std::vector<Clock::duration> admitted;
  Callers(limiter, io, 3, 600, 1ms, admitted);  // 600 + 600 > 1000: one per window
  ASSERT_EQ(admitted.size(), 3u);
  EXPECT_LT(admitted[0], 100ms);
  EXPECT_GE(admitted[1], 290ms);
  EXPECT_GE(admitted[2], 590ms);
}

TEST(RateLimiterTest, ExhaustedHeadersPauseEveryoneUntilTheReset) {
  asio::io_context io;
  RateLimiter limiter(io, 16, 0);
  limiter.OnHeaders({{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "400ms"}});
  std::vector<Clock::duration> admitted;
  Callers(limiter, io, 4, 1, 1ms, admitted);
  ASSERT_EQ(admitted.size(), 4u);
  for (auto a : admitted) EXPECT_GE(a, 390ms);
}

TEST(RateLimiterTest, A429HalvesTheConcurrencyAndSuccessesGrowItBack) {
  asio::io_context io;
  RateLimiter limiter(io, 8, 0);
  limiter.OnRateLimited(0ms);
  EXPECT_EQ(limiter.limit(), 4);
  limiter.OnRateLimited(0ms);  // the same burst: no second halving
  EXPECT_EQ(limiter.limit(), 4);
  std::vector<Clock::duration> admitted;
  Callers(limiter, io, 40, 1, 5ms, admitted);
  EXPECT_EQ(limiter.peak_in_flight(), 8) << "grew back to the configured 8";
  EXPECT_EQ(limiter.limit(), 8);
}

}  // namespace
}  // namespace swarm
