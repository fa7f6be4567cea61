#include "orchestrator/control_client.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/control/control_token.h"
#include "orchestrator/event_format.h"
#include "orchestrator/store/event_tail.h"
#include "orchestrator/run/exit_codes.h"
#include "base/input_file.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/store/store.h"
#include "swarm/v1/control.grpc.pb.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

// SIGINT and SIGTERM, taken by a thread of our own rather than a handler, so that what they trigger
// (an RPC) may run on it. Blocks both for the process: construct before gRPC starts threads.
class Interrupts final {
 public:
  Interrupts() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Interrupts() {
    done_ = true;
    thread_.join();
  }
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  // `handler(count, signal)` runs on the signal thread for every signal from now on, and at once for
  // those already taken. An empty handler stops the calls (before what it refers to goes away).
  void OnSignal(std::function<void(int, int)> handler) {
    absl::MutexLock lock(&mu_);
    handler_ = std::move(handler);
    if (handler_ && count_ > 0) handler_(count_, first_);
  }
  int count() {
    absl::MutexLock lock(&mu_);
    return count_;
  }
  int first() {
    absl::MutexLock lock(&mu_);
    return first_;
  }

 private:
  void Loop() {
    while (!done_) {
      timespec wait{0, 100 * 1000 * 1000};
      int sig = sigtimedwait(&set_, nullptr, &wait);
      if (sig <= 0) continue;
      absl::MutexLock lock(&mu_);
      if (++count_ == 1) first_ = sig;
      if (handler_) handler_(count_, sig);
    }
  }

  sigset_t set_;
  std::atomic<bool> done_{false};
  absl::Mutex mu_;
  std::function<void(int, int)> handler_ ABSL_GUARDED_BY(mu_);
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  int first_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// A channel to the server and the token every call on it carries.
struct Connection {
  std::string address;
  std::unique_ptr<v1::Control::Stub> stub;
  std::string token;  // empty: none was given (the server will say how to pass one)

  // Called on every call's context before the call.
  void Authorize(grpc::ClientContext& context) const {
    if (!token.empty()) context.AddMetadata(kAuthorizationKey, absl::StrCat("Bearer ", token));
  }
};

absl::StatusOr<Connection> Connect(const ServerConnection& server) {
  Connection c;
  c.address = server.address;
  absl::StatusOr<std::string> token = ClientToken(server.address, server.token_file);
  if (!token.ok()) return token.status();
  c.token = std::move(*token);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!server.tls_ca.empty()) {
    if (server.address.rfind("unix:", 0) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-ca is for a server on TCP (HOST:PORT), not ", server.address));
    }
    absl::StatusOr<std::string> ca = ReadInputFile(server.tls_ca, "the CA file (--tls-ca)");
    if (!ca.ok()) return ca.status();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = std::move(*ca);
    credentials = grpc::SslCredentials(ssl);
  }
  c.stub = v1::Control::NewStub(grpc::CreateChannel(server.address, credentials));
  return c;
}

absl::Status FromGrpc(const grpc::Status& st, const std::string& address) {
  if (st.ok()) return absl::OkStatus();
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the swarm server at ", address, ": ", st.error_message()));
  }
  if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return absl::UnauthenticatedError(
        absl::StrCat("the swarm server at ", address, " refused the call: ", st.error_message()));
  }
  if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {  // a message over gRPC's size limit
    return absl::InvalidArgumentError(
        absl::StrCat("the swarm server at ", address, " refused the call: ", st.error_message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
}

void Print(const v1::Event& e, bool json, std::ostream& out) {
  if (e.live() && !json) return;  // live updates are for programs (and views), not lines of text
  out << (json ? EventToJson(e) : FormatEvent(e)) << "\n";
  out.flush();
}

struct Followed {
  absl::Status status;
  std::optional<int> exit_code;  // from RunFinished
  std::uint64_t last_seq = 0;
};

// Prints the run's events from the server's Watch stream until it ends.
Followed FollowOnServer(const Connection& server, grpc::ClientContext& context, const std::string& run_id,
                        std::uint64_t after_seq, bool json, std::ostream& out) {
  const std::string& address = server.address;
  v1::Control::Stub& stub = *server.stub;
  server.Authorize(context);
  Followed f;
  f.last_seq = after_seq;
  v1::WatchRequest request;
  request.set_run_id(run_id);
  request.set_after_seq(after_seq);
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader = stub.Watch(&context, request);
  v1::Event e;
  while (reader->Read(&e)) {
    Print(e, json, out);
    if (e.live()) continue;  // no seq: not where a reconnect resumes
    f.last_seq = e.seq();
    if (e.has_run_finished()) f.exit_code = e.run_finished().exit_code();
  }
  f.status = FromGrpc(reader->Finish(), address);
  if (f.status.ok() && !f.exit_code) {
    // It had finished at or before after_seq: its status has the exit code.
    grpc::ClientContext get_context;
    server.Authorize(get_context);
    v1::GetRequest get;
    get.set_run_id(run_id);
    v1::RunStatus status;
    f.status = FromGrpc(stub.Get(&get_context, get, &status), address);
    if (f.status.ok() && status.finished()) f.exit_code = status.exit_code();
  }
  return f;
}

// A call's error as the command's: a run whose coordinator died did not finish, which is incomplete
// (exit 1), not a bug in swarm.
absl::Status CommandError(const absl::Status& st) {
  return absl::IsAborted(st) ? WithExitCode(st, kExitIncomplete) : st;
}

}  // namespace

std::string ServerAddress(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = getenv("SWARM_SERVER");
  return env != nullptr ? env : "";
}

absl::StatusOr<v1::RunSpec> SpecForServer(const RunConfig& config, std::ostream& err) {
  RunConfig c = config;
  std::error_code ec;
  auto absolute = [&ec](const std::string& p) { return fs::absolute(p, ec).lexically_normal().string(); };
  c.repo = absolute(c.repo);
  if (!c.plan_file.empty() && c.plan_text.empty()) {
    c.plan_file = absolute(c.plan_file);
    absl::StatusOr<std::string> text = ReadInputFile(c.plan_file, "the plan file");
    if (!text.ok()) return text.status();
    c.plan_text = std::move(*text);
  }
  c.plan_file.clear();  // plans travel inline: a server reads no path of ours
  for (auto& bind : c.sandbox_ro_binds) bind = absolute(bind);
  if (!c.agent_binary.empty()) c.agent_binary = absolute(c.agent_binary);
  std::vector<std::string> env;
  for (const auto& var : c.sandbox_env) {
    if (var.find('=') != std::string::npos) {
      env.push_back(var);
    } else if (const char* value = getenv(var.c_str()); value != nullptr) {
      env.push_back(absl::StrCat(var, "=", value));
    } else {
      err << "swarm: warning: --sandbox-env " << var << " is not set here; it is left unset in the sandbox\n";
    }
  }
  c.sandbox_env = env;
  if (!c.state_dir.empty()) {
    err << "swarm: warning: --state-dir is ignored with --server: the run lives in the server's state directory\n";
  }
  c.state_dir.clear();
  c.json = false;       // the server's log of the run stays readable; --json is for this client's output
  return ToSpec(c);
}

absl::Status CancelOnServer(const ServerConnection& server, const std::string& run_id, const std::string& reason) {
  absl::StatusOr<Connection> connection = Connect(server);
  if (!connection.ok()) return connection.status();
  grpc::ClientContext context;
  connection->Authorize(context);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::CancelRequest request;
  request.set_run_id(run_id);
  request.set_reason(reason);
  v1::CancelReply reply;
  return FromGrpc(connection->stub->Cancel(&context, request, &reply), server.address);
}

absl::Status RunOnServer(const ServerConnection& server, const RunConfig& config, std::ostream& out,
                         std::ostream& err) {
  const std::string& address = server.address;
  absl::StatusOr<v1::RunSpec> spec = SpecForServer(config, err);
  if (!spec.ok()) return CommandError(spec.status());
  absl::StatusOr<Connection> connection = Connect(server);
  if (!connection.ok()) return CommandError(connection.status());
  Interrupts interrupts;
  v1::SubmitRequest request;
  *request.mutable_spec() = *spec;
  v1::SubmitReply reply;
  {
    grpc::ClientContext context;
    connection->Authorize(context);
    // Checking a run (git, the plan, the sandbox) takes seconds at most; a stuck server should not
    // hold the terminal forever.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
    absl::Status st = FromGrpc(connection->stub->Submit(&context, request, &reply), address);
    if (!st.ok()) return CommandError(st);
  }
  (config.json ? err : out) << "swarm: run " << reply.run_id() << " on " << address << ", state in "
                            << reply.run_dir() << "\n";
  (config.json ? err : out).flush();

  grpc::ClientContext watch;
  interrupts.OnSignal([&](int count, int sig) {
    if (count > 1) {
      watch.TryCancel();
      return;
    }
    err << "\nswarm: cancelling run " << reply.run_id() << " on the server; Ctrl-C again to stop watching\n";
    absl::Status st = CancelOnServer(server, reply.run_id(), sig == SIGINT ? "interrupted" : "terminated");
    if (!st.ok()) err << "swarm: " << st.message() << "\n";
  });
  Followed f = FollowOnServer(*connection, watch, reply.run_id(), 0, config.json, out);
  interrupts.OnSignal({});
  if (interrupts.count() > 0) return RunEndStatus(interrupts.first() == SIGINT ? kExitInterrupted : kExitCancelled);
  if (f.exit_code) return RunEndStatus(*f.exit_code);
  return absl::Status(f.status.ok() ? absl::StatusCode::kInternal : f.status.code(),
                      absl::StrCat("lost run ", reply.run_id(), ": ", f.status.message(), "\n",
                                   "swarm: `swarm watch ", reply.run_id(), " --from ", f.last_seq, " --server ",
                                   address, "` continues where this stopped"));
}

absl::Status WatchRun(const WatchOptions& options, std::ostream& out) {
  Interrupts interrupts;
  Followed f;
  if (!options.server.address.empty()) {
    absl::StatusOr<Connection> connection = Connect(options.server);
    if (!connection.ok()) return CommandError(connection.status());
    grpc::ClientContext watch;
    interrupts.OnSignal([&](int, int) { watch.TryCancel(); });
    f = FollowOnServer(*connection, watch, options.run_id, options.from_seq, options.json, out);
    interrupts.OnSignal({});
  } else {
    TailRequest request;
    request.state_dir = options.state_dir.empty() ? DefaultStateDir() : options.state_dir;
    request.run_id = options.run_id;
    request.after_seq = options.from_seq;
    request.alive = CoordinatorHoldsLock(request.state_dir, options.run_id);
    request.stop = [&interrupts] { return interrupts.count() > 0; };
    f.status = TailEvents(request, [&](const v1::Event& e) {
      Print(e, options.json, out);
      if (e.has_run_finished()) f.exit_code = e.run_finished().exit_code();
      return true;
    });
    if (f.status.ok() && !f.exit_code) {
      // It had finished at or before from_seq: its last event has the exit code.
      absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(request.state_dir + "/swarm.db");
      absl::StatusOr<v1::Event> last = store.ok() ? (*store)->LastEvent(options.run_id) : store.status();
      if (last.ok() && last->has_run_finished()) f.exit_code = last->run_finished().exit_code();
    }
  }
  if (interrupts.count() > 0) return RunEndStatus(kExitInterrupted);
  if (f.exit_code) return RunEndStatus(*f.exit_code);
  if (f.status.ok()) f.status = absl::InternalError(absl::StrCat("run ", options.run_id, " has no exit status"));
  return CommandError(f.status);
}

}  // namespace swarm
