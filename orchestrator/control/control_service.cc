#include "orchestrator/control/control_service.h"

#include <grpcpp/grpcpp.h>

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/control/control_token.h"
#include "swarm/v1/control.grpc.pb.h"

namespace swarm {
namespace {

// absl and gRPC share their status codes one for one.
grpc::Status ToGrpc(const absl::Status& st) {
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message()));
}

// The one check every call passes first: the bearer token in the call's metadata, compared in
// constant time. Nothing about the expected token is said back.
grpc::Status Authenticate(const grpc::ServerContext& context, const std::string& token) {
  static constexpr char kHow[] =
      "; pass the server's token with --token-file FILE or $SWARM_TOKEN (swarm serve writes it to "
      "<state dir>/control.token, or takes --token-file)";
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthorizationKey);
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, absl::StrCat("this call carries no token", kHow));
  }
  std::string_view value(it->second.data(), it->second.size());
  static constexpr std::string_view kBearer = "Bearer ";
  bool ok = value.substr(0, kBearer.size()) == kBearer && TokensEqual(value.substr(kBearer.size()), token);
  if (!ok) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, absl::StrCat("wrong token", kHow));
  return grpc::Status::OK;
}

class ControlServiceImpl final : public v1::Control::Service {
 public:
  ControlServiceImpl(RunServer& runs, std::string token) : runs_(runs), token_(std::move(token)) {}

  grpc::Status Submit(grpc::ServerContext* context, const v1::SubmitRequest* request, v1::SubmitReply* reply) override {
    if (grpc::Status st = Authenticate(*context, token_); !st.ok()) return st;
    absl::StatusOr<v1::SubmitReply> r = runs_.Submit(request->spec());
    if (!r.ok()) return ToGrpc(r.status());
    *reply = std::move(*r);
    return grpc::Status::OK;
  }

  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::Event>* writer) override {
    if (grpc::Status st = Authenticate(*context, token_); !st.ok()) return st;
    if (request->run_id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "run_id is empty");
    absl::Status st = runs_.Watch(
        request->run_id(), request->after_seq(), [context] { return context->IsCancelled(); },
        [writer](const v1::Event& e) { return writer->Write(e); });
    return ToGrpc(st);
  }

  grpc::Status Get(grpc::ServerContext* context, const v1::GetRequest* request, v1::RunStatus* reply) override {
    if (grpc::Status st = Authenticate(*context, token_); !st.ok()) return st;
    absl::StatusOr<v1::RunStatus> r = runs_.Get(request->run_id());
    if (!r.ok()) return ToGrpc(r.status());
    *reply = std::move(*r);
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* context, const v1::ListRequest*, v1::ListReply* reply) override {
    if (grpc::Status st = Authenticate(*context, token_); !st.ok()) return st;
    absl::StatusOr<std::vector<v1::RunStatus>> r = runs_.List();
    if (!r.ok()) return ToGrpc(r.status());
    for (auto& s : *r) *reply->add_runs() = std::move(s);
    return grpc::Status::OK;
  }

  grpc::Status Cancel(grpc::ServerContext* context, const v1::CancelRequest* request, v1::CancelReply*) override {
    if (grpc::Status st = Authenticate(*context, token_); !st.ok()) return st;
    return ToGrpc(runs_.Cancel(request->run_id(), request->reason()));
  }

 private:
  RunServer& runs_;
  const std::string token_;
};

}  // namespace

struct ControlServer::Impl {
  std::unique_ptr<ControlServiceImpl> service;
  std::unique_ptr<grpc::Server> server;
  bool shut_down = false;
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl, std::vector<std::string> addresses)
    : impl_(std::move(impl)), addresses_(std::move(addresses)) {}

ControlServer::~ControlServer() { Shutdown(std::chrono::milliseconds(0)); }

void ControlServer::Shutdown(std::chrono::milliseconds grace) {
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(const ControlServerOptions& options,
                                                                    RunServer& runs) {
  if (options.token.empty()) return absl::InvalidArgumentError("the Control API needs a token");
  const std::vector<std::string>& addresses = options.addresses;
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<ControlServiceImpl>(runs, options.token);
  std::shared_ptr<grpc::ServerCredentials> tls;
  if (!options.tls_cert.empty() && !options.tls_key.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({options.tls_key, options.tls_cert});
    tls = grpc::SslServerCredentials(ssl);
  }
  grpc::ServerBuilder builder;
  std::vector<int> ports(addresses.size(), 0);
  for (size_t i = 0; i < addresses.size(); ++i) {
    bool tcp = addresses[i].rfind("unix:", 0) != 0;
    builder.AddListeningPort(addresses[i], tcp && tls ? tls : grpc::InsecureServerCredentials(), &ports[i]);
  }
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(64 << 20);  // a RunSpec carries its plan
  impl->server = builder.BuildAndStart();
  if (!impl->server) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", absl::StrJoin(addresses, ", ")));
  }
  std::vector<std::string> bound;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& a = addresses[i];
    if (a.rfind("unix:", 0) == 0 || ports[i] == 0) {
      bound.push_back(a);
    } else {
      bound.push_back(absl::StrCat(a.substr(0, a.rfind(':')), ":", ports[i]));
    }
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl), std::move(bound)));
}

}  // namespace swarm
