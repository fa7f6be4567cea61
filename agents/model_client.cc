#include "agents/model_client.h"

#include <grpcpp/grpcpp.h>

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "swarm/v1/agent.grpc.pb.h"

namespace swarm {
namespace {

class GrpcModelClient final : public ModelClient {
 public:
  GrpcModelClient(std::shared_ptr<grpc::Channel> channel, std::chrono::seconds timeout)
      : stub_(v1::AgentService::NewStub(std::move(channel))), timeout_(timeout) {}

  // Calls still out are cancelled and their callbacks awaited: none may run after the host is gone.
  ~GrpcModelClient() override {
    absl::MutexLock lock(&mu_);
    for (grpc::ClientContext* c : live_) c->TryCancel();
    while (!live_.empty()) drained_.Wait(&mu_);
  }

  void Complete(const std::string& lease_id, std::uint64_t fence, v1::ChatRequest request, Done done) override {
    struct Call {
      grpc::ClientContext context;
      v1::CompleteRequest request;
      v1::CompleteReply reply;
    };
    auto call = std::make_shared<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + timeout_);
    {
      absl::MutexLock lock(&mu_);
      live_.insert(&call->context);
    }
    call->request.set_lease_id(lease_id);
    call->request.set_fence(fence);
    *call->request.mutable_request() = std::move(request);
    stub_->async()->Complete(&call->context, &call->request, &call->reply,
                             [this, call, done = std::move(done)](grpc::Status status) {
                               if (!status.ok()) {
                                 done(absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                                   status.error_message()));
                               } else {
                                 done(std::move(*call->reply.mutable_reply()));
                               }
                               absl::MutexLock lock(&mu_);
                               live_.erase(&call->context);
                               drained_.SignalAll();
                             });
  }

 private:
  std::unique_ptr<v1::AgentService::Stub> stub_;
  const std::chrono::seconds timeout_;
  absl::Mutex mu_;
  absl::CondVar drained_;  // signalled when a call leaves live_
  std::set<grpc::ClientContext*> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<ModelClient> NewModelClient(std::shared_ptr<grpc::Channel> channel, std::chrono::seconds timeout) {
  return std::make_unique<GrpcModelClient>(std::move(channel), timeout);
}

}  // namespace swarm
