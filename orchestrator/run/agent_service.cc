#include "orchestrator/run/agent_service.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "swarm/v1/agent.grpc.pb.h"

namespace swarm {
namespace {

class HostStream;

// What the coordinator holds of a stream: outlives the reactor, which detaches itself in OnDone.
class StreamChannel final : public HostChannel {
 public:
  explicit StreamChannel(std::uint64_t id) : id_(id) {}
  std::uint64_t id() const override { return id_; }
  void Send(const v1::CoordinatorMessage& message) override;
  void Close() override;

  // Called by the reactor, under no lock.
  void Attach(HostStream* stream) {
    absl::MutexLock lock(&mu_);
    stream_ = stream;
  }
  void OnWriteDone(bool ok);
  void OnReadsDone();
  void Detach() {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
  }

 private:
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::uint64_t id_;
  absl::Mutex mu_;
  HostStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;            // null once the reactor is done
  std::deque<v1::CoordinatorMessage> out_ ABSL_GUARDED_BY(mu_);  // front() is being written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class HostStream final : public grpc::ServerBidiReactor<v1::HostMessage, v1::CoordinatorMessage> {
 public:
  HostStream(std::uint64_t id, AgentHandler& handler, AgentServer::Post post, Liveness* liveness)
      : channel_(std::make_shared<StreamChannel>(id)), handler_(handler), post_(std::move(post)), liveness_(liveness) {
    channel_->Attach(this);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      channel_->OnReadsDone();
      return;
    }
    // Here, not on the executor: a busy coordinator must not expire a live host's leases.
    if (liveness_ != nullptr && in_.has_heartbeat()) liveness_->Renew(channel_->id(), in_.heartbeat().lease_ids());
    post_([h = &handler_, c = channel_, m = in_] { h->OnHostMessage(c, m); });
    StartRead(&in_);
  }
  void OnWriteDone(bool ok) override { channel_->OnWriteDone(ok); }
  void OnDone() override {
    channel_->Detach();
    post_([h = &handler_, c = channel_] { h->OnHostGone(c); });
    delete this;
  }

 private:
  std::shared_ptr<StreamChannel> channel_;
  AgentHandler& handler_;
  AgentServer::Post post_;
  Liveness* const liveness_;
  v1::HostMessage in_;
};

void StreamChannel::Send(const v1::CoordinatorMessage& message) {
  absl::MutexLock lock(&mu_);
  if (stream_ == nullptr || finish_wanted_) return;
  out_.push_back(message);
  if (!writing_) {
    writing_ = true;
    stream_->StartWrite(&out_.front());
  }
}

void StreamChannel::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  out_.pop_front();
  if (!ok) out_.clear();
  if (!out_.empty() && stream_ != nullptr) {
    stream_->StartWrite(&out_.front());
    return;
  }
  writing_ = false;
  if (finish_wanted_) FinishLocked();
}

void StreamChannel::Close() {
  absl::MutexLock lock(&mu_);
  finish_wanted_ = true;
  if (!writing_) FinishLocked();
}

void StreamChannel::OnReadsDone() { Close(); }

void StreamChannel::FinishLocked() {
  if (finished_ || stream_ == nullptr) return;
  finished_ = true;
  stream_->Finish(grpc::Status::OK);
}

class ServiceImpl final : public v1::AgentService::CallbackService {
 public:
  ServiceImpl(AgentHandler& handler, AgentServer::Post post, std::shared_ptr<Liveness> liveness)
      : handler_(handler), post_(std::move(post)), liveness_(std::move(liveness)) {}
  grpc::ServerBidiReactor<v1::HostMessage, v1::CoordinatorMessage>* Connect(grpc::CallbackServerContext*) override {
    return new HostStream(++next_id_, handler_, post_, liveness_.get());
  }

  // Answered when the gateway is done; the reactor is finished from whichever thread that is, once.
  grpc::ServerUnaryReactor* Complete(grpc::CallbackServerContext* context, const v1::CompleteRequest* request,
                                     v1::CompleteReply* reply) override {
    auto call = std::make_shared<UnaryCall>();
    call->reactor = context->DefaultReactor();
    {
      absl::MutexLock lock(&mu_);
      open_.insert(call);
    }
    post_([this, h = &handler_, request, reply, call] {
      h->OnComplete(*request, [this, reply, call](absl::StatusOr<v1::ChatReply> result) {
        if (result.ok()) *reply->mutable_reply() = std::move(*result);
        Answer(call, result.ok() ? grpc::Status::OK
                                 : grpc::Status(static_cast<grpc::StatusCode>(result.status().code()),
                                                std::string(result.status().message())));
      });
    });
    return call->reactor;
  }

  // Every call not answered yet is answered CANCELLED: a server shuts down only once each is.
  void AbortPending() {
    std::set<std::shared_ptr<UnaryCall>> open;
    {
      absl::MutexLock lock(&mu_);
      open = open_;
    }
    for (const auto& call : open) Answer(call, grpc::Status(grpc::StatusCode::CANCELLED, "the run is finishing"));
  }

 private:
  struct UnaryCall {
    grpc::ServerUnaryReactor* reactor = nullptr;
    std::atomic<bool> answered{false};
  };

  void Answer(const std::shared_ptr<UnaryCall>& call, const grpc::Status& status) {
    if (call->answered.exchange(true)) return;
    {
      absl::MutexLock lock(&mu_);
      open_.erase(call);
    }
    call->reactor->Finish(status);
  }

  absl::Mutex mu_;
  std::set<std::shared_ptr<UnaryCall>> open_ ABSL_GUARDED_BY(mu_);
  AgentHandler& handler_;
  AgentServer::Post post_;
  std::shared_ptr<Liveness> liveness_;
  std::atomic<std::uint64_t> next_id_{0};
};

}  // namespace

struct AgentServer::Impl {
  std::unique_ptr<ServiceImpl> service;
  std::unique_ptr<grpc::Server> server;
};

AgentServer::AgentServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

void AgentServer::AbortPending() { impl_->service->AbortPending(); }

AgentServer::~AgentServer() {
  if (impl_->server) impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(const std::string& address, AgentHandler& handler,
                                                                Post post, std::shared_ptr<Liveness> liveness) {
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<ServiceImpl>(handler, std::move(post), std::move(liveness));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(256 << 20);  // patches travel in one message
  builder.SetMaxSendMessageSize(256 << 20);
  impl->server = builder.BuildAndStart();
  if (!impl->server) return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  return std::unique_ptr<AgentServer>(new AgentServer(std::move(impl)));
}

}  // namespace swarm
