#include "models/model_gateway.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "models/budget.h"
#include "models/internal/http_client.h"
#include "models/local_model_server.h"
#include "models/provider_protocol.h"
#include "models/rate_limiter.h"
#include "models/sse.h"

namespace swarm {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxStoredReply = 4 << 20;

constexpr int kMaxRateLimitedRetries = 30;
constexpr auto kMaxRetryAfter = std::chrono::milliseconds(120'000);

// One more failed HTTP attempt of `kind` on the call (ModelCall.faults).
void CountFault(CallRecord& record, const char* kind) { ++(*record.call.mutable_faults())[kind]; }

bool Retryable(int http_status) { return http_status == 408 || http_status == 429 || http_status >= 500; }

// A 429 that means "out of credit" (OpenAI's insufficient_quota, Moonshot's exceeded_current_quota_error)
// rather than "too fast".
bool IsQuotaExhausted(const std::string& body) {
  return body.find("insufficient_quota") != std::string::npos || body.find("exceeded_current_quota") != std::string::npos;
}

}  // namespace

struct ModelGateway::Impl {
  ResolvedModel model;
  std::unique_ptr<LocalModelServer> scripted;  // for scripted: providers
  ParsedUrl url;
  std::unique_ptr<ProviderProtocol> protocol;
  Budget budget;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<HttpClient> client;
  std::unique_ptr<RateLimiter> limiter;
  std::mt19937_64 random{std::random_device{}()};
  std::thread thread;

  struct Pending {
    Done done;
    std::string subtask;
    std::string request_body = {};  // as sent (redacted)
    double reserved = 0;       // what is reserved for it now
    double charged = 0;        // earlier attempts charged at their worst case
    bool sent = false;         // a request went out: it may be billed
    bool cancelled = false;    // its agent is gone: no more retries
  };
  absl::Mutex mu;
  std::map<std::uint64_t, Pending> pending ABSL_GUARDED_BY(mu);  // calls not yet done
  std::uint64_t next_call ABSL_GUARDED_BY(mu) = 1;

  Impl(ResolvedModel m, const GatewayOptions& o)
      : model(std::move(m)),
        budget(o.budget_usd, o.per_subtask_usd, o.spent_usd, o.spent_by_subtask, o.per_group_usd, o.group_of) {}

  // The key never reaches the store: not in a body we sent, nor in one the provider echoed.
  std::string Redact(std::string text) const {
    if (model.api_key.size() >= 4) absl::StrReplaceAll({{model.api_key, "[key]"}}, &text);
    return text;
  }

  // Before retry `retry` (0 or more): random in [cap / 2, cap], cap = base * 2^retry, at most 60 s.
  std::chrono::milliseconds Backoff(int retry) {
    const std::int64_t cap = std::min<std::int64_t>(60'000, static_cast<std::int64_t>(model.provider.retry_base_ms) << std::min(retry, 16));
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(cap / 2, std::max<std::int64_t>(cap / 2, cap))(random));
  }

  asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
    asio::steady_timer timer(io, d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Reserves the call's worst case; while other calls' reservations hold the room it needs, it waits
  // for them to settle rather than fail. The time it waited is added to `call`'s budget_wait_ms.
  asio::awaitable<absl::StatusOr<Budget::Reservation>> Reserve(std::uint64_t id, const std::string& subtask, double usd,
                                                               v1::ModelCall& call) {
    const auto asked = std::chrono::steady_clock::now();
    const auto give_up = asked + std::chrono::seconds(model.provider.timeout_s);
    for (;;) {
      bool may_wait = false;
      absl::StatusOr<Budget::Reservation> r = budget.Reserve(subtask, usd, &may_wait);
      if (r.ok()) Reserved(id, usd);
      if (r.ok() || !may_wait || std::chrono::steady_clock::now() > give_up || Cancelled(id)) {
        call.set_budget_wait_ms(call.budget_wait_ms() +
                                static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                               std::chrono::steady_clock::now() - asked)
                                                               .count()));
        co_return r;
      }
      co_await Sleep(50ms);
    }
  }

  // The pending call's state, changed under the lock. Not inlined into the coroutines that call them:
  // with absl::MutexLock inlined there, GCC 12 warns falsely of a mismatched operator delete in
  // Asio's awaitable frame (-Wmismatched-new-delete).
  [[gnu::noinline]] void Reserved(std::uint64_t id, double usd) {
    absl::MutexLock lock(&mu);
    if (auto it = pending.find(id); it != pending.end()) it->second.reserved = usd;
  }
  [[gnu::noinline]] void Encoded(std::uint64_t id, const std::string& request_body) {
    absl::MutexLock lock(&mu);
    if (auto it = pending.find(id); it != pending.end()) it->second.request_body = request_body;
  }
  [[gnu::noinline]] bool Cancelled(std::uint64_t id) {
    absl::MutexLock lock(&mu);
    auto it = pending.find(id);
    return it == pending.end() || it->second.cancelled;
  }
  [[gnu::noinline]] void Charged(std::uint64_t id, double usd) {
    absl::MutexLock lock(&mu);
    if (auto it = pending.find(id); it != pending.end()) it->second.charged += usd;
  }

  [[gnu::noinline]] void MarkSent(std::uint64_t id) {
    absl::MutexLock lock(&mu);
    if (auto it = pending.find(id); it != pending.end()) it->second.sent = true;
  }
  [[gnu::noinline]] void Settled(std::uint64_t id) {
    absl::MutexLock lock(&mu);
    if (auto it = pending.find(id); it != pending.end()) it->second.reserved = 0;
  }

  [[gnu::noinline]] void Finish(std::uint64_t id, absl::StatusOr<v1::ChatReply> reply, CallRecord record) {
    Done done;
    {
      absl::MutexLock lock(&mu);
      auto it = pending.find(id);
      if (it == pending.end()) return;
      done = std::move(it->second.done);
      pending.erase(it);
    }
    done(std::move(reply), std::move(record));
  }

  asio::awaitable<void> Call(std::uint64_t id, std::string subtask, v1::ChatRequest request) {
    const auto started = std::chrono::steady_clock::now();
    CallRecord record;
    record.call.set_subtask_id(subtask);
    record.call.set_model(model.ref);
    auto fail = [&](absl::Status status) {
      const std::string message = Redact(std::string(status.message()));
      record.call.set_ok(false);
      record.call.set_error(message);
      record.call.set_latency_ms(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));
      Finish(id, absl::Status(status.code(), message), std::move(record));
    };

    if (request.messages_size() == 0) co_return fail(absl::InvalidArgumentError("a chat request needs messages"));
    const auto max_out = static_cast<std::uint32_t>(model.info.max_output_tokens);
    const std::uint32_t max_tokens = request.max_tokens() == 0 ? max_out : std::min(request.max_tokens(), max_out);
    const bool stream = model.provider.stream;
    absl::StatusOr<std::string> body = protocol->Encode(request, model.model, max_tokens, stream);
    if (!body.ok()) co_return fail(body.status());
    record.request_body = Redact(*body);
    Encoded(id, record.request_body);

    const double worst = WorstCaseUsd(model.info, body->size(), max_tokens);
    absl::StatusOr<Budget::Reservation> current = co_await Reserve(id, subtask, worst, record.call);
    if (!current.ok()) {
      record.refused_by_run_budget = budget.exhausted();
      co_return fail(current.status());
    }

    HttpRequest http;
    http.path = url.path + protocol->endpoint();
    http.headers = protocol->Headers(model.api_key);
    if (model.provider.conversation_header) http.headers.emplace_back("x-swarm-conversation", subtask);
    if (stream) http.headers.emplace_back("accept", "text/event-stream");
    http.body = *body;
    const std::uint64_t estimate = body->size() / 3 + max_tokens;

    absl::StatusOr<v1::ChatReply> result = absl::UnknownError("no attempt made");
    double charged = 0;          // earlier attempts that may have been billed with no usage to show
    bool billed_unknown = false; // the last attempt reached the provider and may have been billed
    int attempt = 0, rate_limited = 0;
    for (;; ++attempt) {
      const auto asked = std::chrono::steady_clock::now();
      const std::uint64_t admission = co_await limiter->Acquire(estimate);
      record.call.set_limiter_wait_ms(record.call.limiter_wait_ms() +
                                      static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - asked).count()));
      MarkSent(id);
      std::unique_ptr<StreamDecoder> decoder = stream ? protocol->NewStream() : nullptr;
      absl::Status stream_error;
      record.response_body.clear();
      SseParser sse([&](std::string_view event, std::string_view data) {
        if (stream_error.ok()) stream_error = decoder->OnEvent(event, data);
      });
      BodySink sink = nullptr;
      if (stream) {
        sink = [&](std::string_view piece) {
          if (record.response_body.size() < kMaxStoredReply) record.response_body.append(piece);
          sse.Feed(piece);
        };
      }
      absl::StatusOr<HttpResponse> response =
          co_await client->Post(http, std::chrono::seconds(model.provider.timeout_s),
                                std::chrono::seconds(model.provider.request_timeout_s), sink);
      std::optional<std::chrono::milliseconds> wait;
      bool retry = false;
      billed_unknown = false;
      if (!response.ok()) {
        // DeadlineExceeded and DataLoss come after the request was sent; Unavailable before.
        result = response.status();
        billed_unknown = absl::IsDeadlineExceeded(result.status()) || absl::IsDataLoss(result.status());
        retry = absl::IsUnavailable(result.status()) || absl::IsDeadlineExceeded(result.status());
        CountFault(record, absl::IsDeadlineExceeded(result.status()) ? "timeout"
              : absl::IsDataLoss(result.status())       ? "cut_off"
                                                        : "unreachable");
      } else {
        limiter->OnHeaders(response->headers);
        if (!stream || response->status / 100 != 2) record.response_body = response->body.substr(0, kMaxStoredReply);
        const bool json_reply = response->headers["content-type"].find("json") != std::string::npos;
        if (response->status / 100 == 2) {
          if (!stream || (json_reply && record.response_body.find("data:") != 0)) {
            // Some servers answer a streamed request with one JSON body (often an error).
            result = protocol->Decode(stream ? record.response_body : response->body);
          } else {
            sse.Finish();
            result = stream_error.ok() ? decoder->Finish() : stream_error;
          }
          billed_unknown = !result.ok() || !result->usage_reported();
          if (!result.ok()) {
            // Streamed: an error event from the provider is its failure; an event that does not
            // read is not_json; a stream that read well and ended early was cut off.
            const bool streamed = stream && !(json_reply && record.response_body.find("data:") != 0);
            CountFault(record, !streamed                                ? "not_json"
                  : absl::IsUnavailable(stream_error)      ? "server_error"
                  : !stream_error.ok()                     ? "not_json"
                                                           : "cut_off");
          }
        } else {
          const std::string said = protocol->ErrorMessage(response->body);
          const std::string message = absl::StrCat("HTTP ", response->status, " from ", model.provider.name, ": ", said);
          retry = Retryable(response->status);
          CountFault(record, response->status == 429   ? "rate_limited"
                : response->status == 408 ? "timeout"
                : response->status >= 500 ? "server_error"
                                          : "refused");
          if (response->status == 429 && IsQuotaExhausted(response->body)) {
            retry = false;  // out of credit: waiting will not help
            result = absl::FailedPreconditionError(message);
          } else if (response->status == 429) {
            ++rate_limited;
            wait = RetryAfter(response->headers);
            limiter->OnRateLimited(wait.value_or(Backoff(attempt)));
            result = absl::UnavailableError(message);
          } else if (retry) {
            result = absl::UnavailableError(message);
          } else if (response->status == 400 || response->status == 413 || response->status == 422) {
            result = absl::InvalidArgumentError(message);  // the request: too long, malformed
          } else {
            result = absl::FailedPreconditionError(message);  // the key, the model, the account
          }
        }
      }
      const std::uint64_t used =
          result.ok() && result->usage_reported() ? result->usage().input_tokens() + result->usage().output_tokens() : 0;
      limiter->Release(admission, used, result.ok());
      // Rate limiting slows callers down; it fails them only when it never ends.
      const int failures = attempt - rate_limited;
      if (!retry || failures >= model.provider.max_retries || rate_limited > kMaxRateLimitedRetries) break;
      if (Cancelled(id)) {
        result = absl::CancelledError("the agent that asked is gone");
        break;
      }
      if (billed_unknown) {
        // That attempt may have been billed in full: charge it, and reserve again for the next one.
        budget.Settle(*current, worst);
        charged += worst;
        Charged(id, worst);
        current = co_await Reserve(id, subtask, worst, record.call);
        if (!current.ok()) {
          result = current.status();
          record.refused_by_run_budget = budget.exhausted();
          billed_unknown = false;
          break;
        }
      }
      // `failures` is below 0 after rate-limited attempts (they do not count): the first backoff then.
      co_await Sleep(std::max(Backoff(failures < 0 ? 0 : failures), std::min(wait.value_or(0ms), kMaxRetryAfter)));
    }

    const double last = result.ok() && result->usage_reported() ? CostUsd(model.info, result->usage())
                        : billed_unknown                          ? worst
                                                                  : 0.0;
    if (current.ok()) budget.Settle(*current, last);
    Settled(id);
    const double cost = charged + last;
    record.response_body = Redact(std::move(record.response_body));
    record.call.set_http_attempts(attempt + 1);
    record.call.set_cost_usd(cost);
    if (!result.ok()) {
      if (attempt > 0) {
        result = absl::Status(result.status().code(),
                              absl::StrCat(result.status().message(), " (after ", attempt + 1, " attempts)"));
      }
      co_return fail(result.status());
    }
    v1::ChatReply& reply = *result;
    reply.set_cost_usd(cost);
    reply.set_model(model.ref);
    reply.set_http_attempts(attempt + 1);
    reply.set_latency_ms(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));
    record.call.set_ok(true);
    for (const auto& call : reply.message().tool_calls()) {
      if (!call.error().empty()) {  // the arguments were not a JSON object
        ++(*record.call.mutable_faults())["malformed_tool_args"];
        break;
      }
    }
    *record.call.mutable_reply() = reply.message();
    *record.call.mutable_usage() = reply.usage();
    record.call.set_usage_reported(reply.usage_reported());
    record.call.set_latency_ms(reply.latency_ms());
    Finish(id, std::move(reply), std::move(record));
  }
};

ModelGateway::ModelGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<ModelGateway>> ModelGateway::Start(ResolvedModel model, GatewayOptions options) {
  if ((options.budget_usd > 0 || options.per_subtask_usd > 0) && !model.info.priced) {
    return absl::InvalidArgumentError(absl::StrCat("a budget needs prices, and ", model.ref,
                                                   " has none: set them under [providers.", model.provider.name,
                                                   ".models.\"", model.model, "\"] in a models.toml"));
  }
  auto impl = std::make_unique<Impl>(std::move(model), options);
  ResolvedModel& m = impl->model;
  if (m.provider.name.starts_with("scripted") && m.provider.base_url.empty()) {
    absl::StatusOr<const LocalModelServerKind*> kind = InstalledLocalModelServer();
    if (!kind.ok()) return kind.status();
    absl::StatusOr<std::unique_ptr<LocalModelServer>> server = (*kind)->start(m.model);
    if (!server.ok()) return absl::InvalidArgumentError(server.status().message());
    impl->scripted = std::move(*server);
    m.provider.base_url = impl->scripted->base_url();
  }
  absl::StatusOr<ParsedUrl> url = ParseUrl(m.provider.base_url);
  if (!url.ok()) return url.status();
  impl->url = *url;
  impl->protocol = MakeProtocol(m.provider);
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(impl->io, *url, m.provider.ca_file);
  if (!client.ok()) return client.status();
  impl->client = std::move(*client);
  impl->limiter = std::make_unique<RateLimiter>(impl->io, m.provider.concurrency, m.provider.tokens_per_minute);
  impl->thread = std::thread([io = &impl->io] { io->run(); });
  return std::unique_ptr<ModelGateway>(new ModelGateway(std::move(impl)));
}

ModelGateway::LimiterState ModelGateway::limiter() const {
  const RateLimiter& l = *impl_->limiter;
  return {l.max_limit(), l.limit(), l.in_flight(), l.peak_in_flight()};
}

ModelGateway::~ModelGateway() {
  impl_->io.stop();
  impl_->thread.join();
  std::map<std::uint64_t, Impl::Pending> left;
  {
    absl::MutexLock lock(&impl_->mu);
    left.swap(impl_->pending);
  }
  // A call cut short may still be billed by the provider: it is recorded at its reservation.
  for (auto& [id, p] : left) {
    CallRecord record;
    record.call.set_subtask_id(p.subtask);
    record.call.set_model(impl_->model.ref);
    record.call.set_error("abandoned: the run stopped while the call was in flight");
    record.call.set_cost_usd(p.charged + (p.sent ? p.reserved : 0));
    record.request_body = std::move(p.request_body);
    p.done(absl::CancelledError("the model gateway stopped"), std::move(record));
  }
}

std::uint64_t ModelGateway::Complete(const std::string& subtask_id, v1::ChatRequest request, Done done) {
  std::uint64_t id;
  {
    absl::MutexLock lock(&impl_->mu);
    id = impl_->next_call++;
    impl_->pending.emplace(id, Impl::Pending{.done = std::move(done), .subtask = subtask_id});
  }
  // A call that throws (out of memory) still ends, as an internal error.
  asio::co_spawn(impl_->io, impl_->Call(id, subtask_id, std::move(request)), [impl = impl_.get(), id](std::exception_ptr e) {
    if (e) impl->Finish(id, absl::InternalError("the model gateway failed on this call"), CallRecord{});
  });
  return id;
}

void ModelGateway::Cancel(std::uint64_t call) {
  absl::MutexLock lock(&impl_->mu);
  if (auto it = impl_->pending.find(call); it != impl_->pending.end()) it->second.cancelled = true;
}

absl::StatusOr<v1::ChatReply> ModelGateway::CompleteAndWait(const std::string& subtask_id, v1::ChatRequest request,
                                                            CallRecord* record) {
  std::promise<std::pair<absl::StatusOr<v1::ChatReply>, CallRecord>> promise;
  auto future = promise.get_future();
  Complete(subtask_id, std::move(request), [&promise](absl::StatusOr<v1::ChatReply> reply, CallRecord r) {
    promise.set_value({std::move(reply), std::move(r)});
  });
  auto [reply, r] = future.get();
  if (record != nullptr) *record = std::move(r);
  return std::move(reply);
}

const ResolvedModel& ModelGateway::model() const { return impl_->model; }
std::string ModelGateway::base_url() const { return impl_->model.provider.base_url; }
void ModelGateway::JoinGroup(const std::string& subtask, const std::string& group) {
  impl_->budget.Join(subtask, group);
}
double ModelGateway::spent_usd() const { return impl_->budget.spent(); }
bool ModelGateway::budget_exhausted() const { return impl_->budget.exhausted(); }

}  // namespace swarm
