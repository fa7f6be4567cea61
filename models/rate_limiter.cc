#include "models/rate_limiter.h"

#include <time.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>

namespace swarm {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kMaxPause = std::chrono::milliseconds(120'000);  // a longer pause is not waited out whole

std::optional<std::int64_t> ParseNumber(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 15) return std::nullopt;
  return std::stoll(s);
}

// Seconds since the epoch of "2025-11-25T10:00:00Z" or an IMF-fixdate, or nothing.
std::optional<std::int64_t> ParseTime(const std::string& value) {
  struct tm tm {};
  const char* end = strptime(value.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::chrono::milliseconds UntilEpochSeconds(std::int64_t at) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto wait = std::chrono::seconds(at) - now;
  return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(wait));
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseResetHeader(const std::string& value) {
  if (value.find('T') != std::string::npos && value.find('-') != std::string::npos) {
    if (auto t = ParseTime(value)) return UntilEpochSeconds(*t);
    return std::nullopt;
  }
  double total_ms = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < value.size()) {
    char* end = nullptr;
    const double n = std::strtod(value.c_str() + i, &end);
    if (end == value.c_str() + i) return std::nullopt;
    i = end - value.c_str();
    std::string unit;
    while (i < value.size() && std::isalpha(static_cast<unsigned char>(value[i]))) unit += value[i++];
    if (unit == "ms") total_ms += n;
    else if (unit == "s" || unit.empty()) total_ms += n * 1000;
    else if (unit == "m") total_ms += n * 60'000;
    else if (unit == "h") total_ms += n * 3'600'000;
    else return std::nullopt;
    any = true;
  }
  if (!any || total_ms < 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms));
}

std::optional<std::chrono::milliseconds> RetryAfter(const std::map<std::string, std::string>& headers) {
  if (auto it = headers.find("retry-after-ms"); it != headers.end()) {
    if (auto n = ParseNumber(it->second)) return std::chrono::milliseconds(*n);
  }
  if (auto it = headers.find("retry-after"); it != headers.end()) {
    if (auto n = ParseNumber(it->second)) return std::chrono::seconds(*n);
    if (auto t = ParseTime(it->second)) return UntilEpochSeconds(*t);
  }
  return std::nullopt;
}

RateLimiter::RateLimiter(asio::io_context& io, int concurrency, int tokens_per_minute, std::chrono::milliseconds window)
    : io_(io),
      max_limit_(std::max(1, concurrency)),
      tokens_per_minute_(tokens_per_minute),
      window_(window),
      limit_(max_limit_) {}

RateLimiter::Clock::time_point RateLimiter::TokensFreeAt(std::uint64_t tokens, Clock::time_point now) {
  while (!minute_.empty() && minute_.front().at + window_ <= now) minute_.pop_front();
  if (tokens_per_minute_ <= 0) return now;
  std::uint64_t used = 0;
  for (const Spend& s : minute_) used += s.tokens;
  const auto budget = static_cast<std::uint64_t>(tokens_per_minute_);
  // A request larger than the whole minute's allowance goes alone, when the minute is empty.
  if (used == 0 || used + tokens <= budget) return now;
  for (const Spend& s : minute_) {
    used -= s.tokens;
    if (used == 0 || used + tokens <= budget) return s.at + window_;
  }
  return now;
}

asio::awaitable<std::uint64_t> RateLimiter::Acquire(std::uint64_t tokens) {
  asio::steady_timer timer(io_);
  waiters_.push_back(&timer);
  for (;;) {
    const Clock::time_point now = Clock::now();
    Clock::time_point wake = Clock::time_point::max();
    if (now < paused_until_) {
      wake = paused_until_;
    } else if (waiters_.front() == &timer && in_flight_ < limit_) {
      const Clock::time_point free_at = TokensFreeAt(tokens, now);
      if (free_at <= now) break;
      wake = free_at;
    }
    timer.expires_at(wake);
    boost::system::error_code ec;  // operation_aborted: woken by WakeFront
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  waiters_.pop_front();
  ++in_flight_;
  peak_ = std::max(peak_.load(), in_flight_.load());
  const std::uint64_t id = next_id_++;
  minute_.push_back({Clock::now(), id, tokens});
  WakeFront();
  co_return id;
}

void RateLimiter::Release(std::uint64_t id, std::uint64_t actual_tokens, bool succeeded) {
  --in_flight_;
  if (actual_tokens > 0) {
    for (Spend& s : minute_) {
      if (s.id == id) s.tokens = actual_tokens;
    }
  }
  if (succeeded && limit_ < max_limit_ && ++successes_ >= limit_) {
    ++limit_;
    successes_ = 0;
  }
  WakeFront();
}

void RateLimiter::OnRateLimited(std::chrono::milliseconds retry_after) {
  const Clock::time_point now = Clock::now();
  // One halving per burst: the 429s of requests that were already in flight say the same thing.
  if (now - last_decrease_ > 1s) {
    limit_ = std::max(1, limit_.load() / 2);
    successes_ = 0;
    last_decrease_ = now;
  }
  PauseUntil(now + std::min(retry_after, kMaxPause));
}

void RateLimiter::OnHeaders(const std::map<std::string, std::string>& headers) {
  auto exhausted = [&](const char* remaining, const char* reset) {
    auto r = headers.find(remaining);
    auto t = headers.find(reset);
    if (r == headers.end() || t == headers.end() || r->second != "0") return;
    if (auto wait = ParseResetHeader(t->second)) PauseUntil(Clock::now() + std::min(*wait, kMaxPause));
  };
  exhausted("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");
  exhausted("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
  exhausted("anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset");
  exhausted("anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset");
  exhausted("anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset");
  exhausted("anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-reset");
}

void RateLimiter::PauseUntil(Clock::time_point until) {
  if (until <= paused_until_) return;
  paused_until_ = until;
  for (asio::steady_timer* t : waiters_) t->cancel();  // they go back to sleep until the new time
}

void RateLimiter::WakeFront() {
  if (!waiters_.empty()) waiters_.front()->cancel();
}

}  // namespace swarm
