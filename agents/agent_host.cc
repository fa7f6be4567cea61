#include "agents/agent_host.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agents/command_agent.h"
#include "agents/llm_agent.h"
#include "agents/model_client.h"
#include "agents/start_credits.h"
#include "git/base_checkouts.h"
#include "sandbox/bubblewrap_sandbox.h"
#include "sandbox/overlay_mount.h"
#include "sandbox/unsandboxed_runner.h"
#include "swarm/v1/agent.grpc.pb.h"
#include "swarm/v1/protocol.h"

namespace swarm {
namespace {
namespace asio = boost::asio;

// The host's end of the Connect stream. Reads are forwarded to a callback; writes may be queued from
// any thread until Close().
class CoordinatorStream final : public grpc::ClientBidiReactor<v1::HostMessage, v1::CoordinatorMessage> {
 public:
  using OnMessage = std::function<void(v1::CoordinatorMessage)>;
  using OnDoneFn = std::function<void(grpc::Status)>;

  CoordinatorStream(v1::AgentService::Stub& stub, OnMessage on_message, OnDoneFn on_done)
      : on_message_(std::move(on_message)), on_done_(std::move(on_done)) {
    stub.async()->Connect(&ctx_, this);
    StartRead(&in_);
    AddHold();  // writes start outside reactions until Close()
    StartCall();
  }

  void Send(const v1::HostMessage& m) {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    out_.push_back(m);
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    if (!writing_) ReleaseLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    out_.pop_front();
    if (!ok) out_.clear();
    if (!out_.empty()) {
      StartWrite(&out_.front());
      return;
    }
    writing_ = false;
    if (closed_) ReleaseLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Close();
      return;
    }
    on_message_(in_);
    StartRead(&in_);
  }

  void OnDone(const grpc::Status& status) override { on_done_(status); }

 private:
  void ReleaseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (released_) return;
    released_ = true;
    StartWritesDone();
    RemoveHold();
  }

  grpc::ClientContext ctx_;
  OnMessage on_message_;
  OnDoneFn on_done_;
  v1::CoordinatorMessage in_;
  absl::Mutex mu_;
  std::deque<v1::HostMessage> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

// Heartbeats on a thread of their own: whatever the host's loop and pool are busy with (making
// workspaces, computing patches, running tools), the coordinator hears from it every interval. The
// leases are listed only while the host's loop shows it is alive (it ticks Alive() every half
// interval): a host whose loop is stuck sends heartbeats with no lease, and its leases lapse.
class HeartbeatSender {
 public:
  explicit HeartbeatSender(CoordinatorStream& stream) : stream_(stream) {}
  ~HeartbeatSender() { Stop(); }

  void Start(std::chrono::milliseconds interval) {
    absl::MutexLock lock(&mu_);
    if (thread_.joinable() || stopped_) return;
    thread_ = std::thread([this, interval] { Loop(interval); });
  }
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopped_ = true;  // wakes Loop's AwaitWithTimeout
    }
    if (thread_.joinable()) thread_.join();
  }
  void Hold(const std::string& lease_id) {
    absl::MutexLock lock(&mu_);
    leases_.insert(lease_id);
  }
  void Release(const std::string& lease_id) {
    absl::MutexLock lock(&mu_);
    leases_.erase(lease_id);
  }
  // The host's loop is making progress; called from it.
  void Alive() {
    absl::MutexLock lock(&mu_);
    alive_ = std::chrono::steady_clock::now();
  }

 private:
  void Loop(std::chrono::milliseconds interval) {
    absl::MutexLock lock(&mu_);
    alive_ = std::chrono::steady_clock::now();
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopped_), absl::FromChrono(interval))) {
      v1::HostMessage msg;
      v1::Heartbeat* beat = msg.mutable_heartbeat();  // sent even with no lease: it says the host is alive
      if (std::chrono::steady_clock::now() - alive_ < 3 * interval) {
        for (const auto& id : leases_) beat->add_lease_ids(id);
      }
      mu_.Unlock();
      stream_.Send(msg);
      mu_.Lock();
    }
  }

  CoordinatorStream& stream_;
  absl::Mutex mu_;
  std::set<std::string> leases_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point alive_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace

struct AgentHost::Impl {
  AgentHostOptions options;
  asio::io_context io;
  // Git work and the LLM agents' tools, which block (a sandboxed `run` for minutes): one bounded
  // pool (at most 64 threads), so that one agent's long test run does not stall the others.
  std::unique_ptr<asio::thread_pool> pool;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AgentService::Stub> stub;
  std::unique_ptr<ModelClient> model;  // for attempts' model endpoints
  std::unique_ptr<CoordinatorStream> stream;
  std::unique_ptr<HeartbeatSender> heartbeats;
  asio::steady_timer alive{io};  // ticks the heartbeat sender from the loop

  // Owned by `io`.
  bool registered = false;
  v1::Registered run;
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<StartCredits> credits;
  HostWorkspaces workspaces;  // overlays over shared checkouts, or clones
  struct Running {
    std::function<void()> kill;
    bool started = false;  // its set-up is over
    // Its activity is sent at most once per kActivityInterval: the latest waits for its turn.
    std::chrono::steady_clock::time_point activity_sent{};
    std::optional<v1::HostMessage> activity_pending;
  };
  static constexpr std::chrono::milliseconds kActivityInterval{500};
  asio::steady_timer activity_timer{io};  // sends what waited
  bool activity_timer_armed = false;
  std::map<std::string, Running> attempts;  // by lease id
  grpc::Status final_status;
  bool done = false;
  bool stopping = false;

  void OnMessage(const v1::CoordinatorMessage& m) {
    switch (m.kind_case()) {
      case v1::CoordinatorMessage::kRegistered:
        OnRegistered(m.registered());
        break;
      case v1::CoordinatorMessage::kLease:
        OnLease(m.lease());
        break;
      case v1::CoordinatorMessage::kCancel:
        // An expired lease, or a run that no longer wants it: stop the attempt now.
        if (auto it = attempts.find(m.cancel().lease_id()); it != attempts.end()) it->second.kill();
        break;
      case v1::CoordinatorMessage::kShutdown:
        KillAll();
        stream->Close();
        break;
      case v1::CoordinatorMessage::KIND_NOT_SET:
        break;
    }
  }

  // Sends each attempt's waiting activity once its interval has passed: wakes when the first is due.
  void SendActivitySoon() {
    if (activity_timer_armed) return;
    std::optional<std::chrono::steady_clock::time_point> due;
    for (const auto& [id, r] : attempts) {
      if (r.activity_pending && (!due || r.activity_sent + kActivityInterval < *due)) {
        due = r.activity_sent + kActivityInterval;
      }
    }
    if (!due) return;
    activity_timer_armed = true;
    activity_timer.expires_at(*due);
    activity_timer.async_wait([this](boost::system::error_code ec) {
      activity_timer_armed = false;
      if (ec) return;
      const auto now = std::chrono::steady_clock::now();
      bool waiting = false;
      for (auto& [id, r] : attempts) {
        if (!r.activity_pending) continue;
        if (now - r.activity_sent < kActivityInterval) {
          waiting = true;
          continue;
        }
        r.activity_sent = now;
        stream->Send(*r.activity_pending);
        r.activity_pending.reset();
      }
      if (waiting) SendActivitySoon();
    });
  }

  void OnRegistered(const v1::Registered& r) {
    if (registered) return;
    run = r;
    registered = true;
    if (r.sandbox().enabled()) {
      auto bwrap = BubblewrapSandbox::Create();
      if (!bwrap.ok()) {
        std::cerr << "swarm-agent: " << bwrap.status().message() << "\n";
        stream->Close();
        return;
      }
      sandbox = std::move(*bwrap);
    } else {
      sandbox = std::make_unique<UnsandboxedRunner>();
    }
    const std::chrono::milliseconds interval(run.heartbeat_interval_ms() > 0 ? run.heartbeat_interval_ms() : 10000);
    heartbeats->Start(interval);
    TickAlive(interval / 2);
    ChooseWorkspaces();
    AskForWork();
  }

  // Overlays over shared checkouts where they can be mounted here, else clones; the coordinator is
  // told which, and why.
  void ChooseWorkspaces() {
    v1::HostMessage msg;
    v1::WorkspaceKind* kind = msg.mutable_workspaces();
    const std::string& root = run.sandbox().workspace_root();
    std::string why;
    if (run.agent().keep_workspaces()) {
      why = "--keep-workspaces keeps whole clones";
    } else if (!options.overlay_error.empty()) {
      why = options.overlay_error;
    } else {
      std::error_code ec;
      std::filesystem::create_directories(root, ec);
      if (absl::Status st = ProbeOverlay(root); !st.ok()) why = std::string(st.message());
    }
    const std::string mount_place = root + "/mounts-" + options.host_id;  // mount points, kept to the end
    if (InPrivateMountNamespace()) {
      // Overlays, or clones on a capped tmpfs of their own (Workspace::Create), are mounted here.
      std::error_code ec;
      std::filesystem::create_directories(mount_place, ec);
      absl::Status layers = ec ? absl::PermissionDeniedError("cannot create " + mount_place + ": " + ec.message())
                               : ProbeLayerFs(mount_place);
      if (layers.ok()) {
        workspaces.mount_place = mount_place;
      } else {
        std::cerr << "swarm-agent: note: workspaces are measured only when a command ends (" << layers.message()
                  << ")\n";
        if (why.empty()) why = std::string(layers.message());
      }
    }
    if (why.empty()) {
      const Sandbox* s = sandbox.get();
      workspaces.bases = std::make_unique<BaseCheckouts>(run.integration_git_dir(), root + "/bases-" + options.host_id,
                                                         [s](const std::string& dir) { return s->HandOver(dir); },
                                                         /*keep_idle=*/4, /*max_layers=*/8, mount_place);
      kind->set_overlay(true);
    } else {
      kind->set_why_not_overlay(why);
    }
    stream->Send(msg);
  }

  void TickAlive(std::chrono::milliseconds every) {
    heartbeats->Alive();
    alive.expires_after(every);
    alive.async_wait([this, every](boost::system::error_code ec) {
      if (!ec && !done) TickAlive(every);
    });
  }

  // Asks for as many leases as the host can start now.
  void AskForWork() {
    if (done || stopping || credits == nullptr) return;
    if (int n = credits->Ask(); n > 0) {
      v1::HostMessage msg;
      msg.mutable_ready()->set_attempts(static_cast<std::uint32_t>(n));
      stream->Send(msg);
    }
  }

  void OnLease(const v1::Lease& lease) {
    if (!registered || sandbox == nullptr || attempts.count(lease.lease_id())) return;
    credits->Leased();
    heartbeats->Hold(lease.lease_id());
    const std::string id = lease.lease_id();
    auto started = [this, id] {
      if (auto it = attempts.find(id); it != attempts.end() && !it->second.started) {
        it->second.started = true;
        credits->Started();
        AskForWork();
      }
    };
    auto report = [this, id](v1::AttemptResult result) {
      if (auto it = attempts.find(id); it != attempts.end()) {
        credits->Ended(it->second.started);
        attempts.erase(it);
      }
      heartbeats->Release(id);
      v1::HostMessage msg;
      *msg.mutable_result() = std::move(result);
      stream->Send(msg);
      AskForWork();
    };
    // What the agent is doing now, for people watching the run: never stored, and sent at most
    // twice a second per attempt (a reply of 30 tool calls shows its last).
    auto activity = [this, id, fence = lease.fence()](std::uint32_t step, std::string action) {
      auto it = attempts.find(id);
      if (it == attempts.end()) return;
      v1::HostMessage msg;
      v1::Progress* p = msg.mutable_progress();
      p->set_lease_id(id);
      p->set_fence(fence);
      p->set_step(step);
      p->set_message(std::move(action));
      Running& r = it->second;
      const auto now = std::chrono::steady_clock::now();
      if (now - r.activity_sent >= kActivityInterval) {
        r.activity_sent = now;
        r.activity_pending.reset();
        stream->Send(msg);
        return;
      }
      r.activity_pending = std::move(msg);
      SendActivitySoon();
    };
    // No command and a model: the built-in LLM agent.
    if (run.agent().command().empty() && !run.model().empty()) {
      auto agent = std::make_shared<LlmAgent>(io, *pool, *sandbox, run, lease, *model, &workspaces);
      attempts[id].kill = [agent] { agent->Kill(); };
      agent->Start(started, report, activity);
      return;
    }
    auto agent =
        std::make_shared<CommandAgent>(io, *pool, *sandbox, run, lease, options.host_id, model.get(), &workspaces);
    attempts[id].kill = [agent] { agent->Kill(); };
    agent->Start(started, report, activity);
  }

  void KillAll() {
    for (auto& [id, a] : attempts) a.kill();
  }
};

AgentHost::AgentHost(AgentHostOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }

AgentHost::~AgentHost() = default;

absl::Status AgentHost::Run() {
  Impl& s = *impl_;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetMaxSendMessageSize(256 << 20);
  s.channel = grpc::CreateCustomChannel(s.options.coordinator, grpc::InsecureChannelCredentials(), args);
  if (!s.channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
    return absl::UnavailableError(absl::StrCat("cannot reach the coordinator at ", s.options.coordinator));
  }
  s.pool = std::make_unique<asio::thread_pool>(std::clamp(s.options.slots, 1, 64) + 1);
  s.stub = v1::AgentService::NewStub(s.channel);
  s.model = NewModelClient(s.channel);
  s.credits = std::make_unique<StartCredits>(
      s.options.slots, s.options.parallel_starts > 0 ? s.options.parallel_starts
                                                     : static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  auto work = asio::make_work_guard(s.io);
  s.stream = std::make_unique<CoordinatorStream>(
      *s.stub,
      [&s](v1::CoordinatorMessage m) { asio::post(s.io, [&s, m = std::move(m)] { s.OnMessage(m); }); },
      [&s, &work](grpc::Status status) {
        asio::post(s.io, [&s, &work, status] {
          s.done = true;
          s.final_status = status;
          s.alive.cancel();
          s.KillAll();
          work.reset();
        });
      });
  asio::signal_set signals(s.io, SIGTERM, SIGINT);
  // First signal: stop the agents and leave politely; a second one (or one after the stream ended,
  // such as the parent-death signal) leaves at once. Sandboxes die with us (--die-with-parent).
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int) {
    if (ec) return;
    s.KillAll();
    if (s.done || s.stopping) _exit(1);
    s.stopping = true;
    s.stream->Close();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  v1::HostMessage hello;
  auto* reg = hello.mutable_register_();
  reg->set_host_id(s.options.host_id);
  reg->set_slots(static_cast<std::uint32_t>(s.options.slots));
  reg->set_pid(static_cast<std::uint32_t>(getpid()));
  reg->set_protocol(kAgentProtocolVersion);
  s.heartbeats = std::make_unique<HeartbeatSender>(*s.stream);
  s.stream->Send(hello);
  // Runs until the stream is done and every attempt's completion has drained.
  while (!s.done || !s.attempts.empty()) {
    if (s.io.run_one() == 0) break;
  }
  signals.cancel();
  s.activity_timer.cancel();
  s.heartbeats->Stop();
  s.pool->join();
  // What the pool posted back last (an attempt's workspace let go) runs now, while the checkouts,
  // the sandbox and the run it refers to still exist.
  s.io.restart();
  s.io.poll();
  s.workspaces.bases.reset();
  if (s.registered) {
    // Mount points and checkouts of this host: a host on another machine has no coordinator to
    // remove its workspace root. Every mount went with its workspace.
    std::error_code ec;
    const std::string& root = s.run.sandbox().workspace_root();
    std::filesystem::remove_all(root + "/mounts-" + s.options.host_id, ec);
    std::filesystem::remove_all(root + "/bases-" + s.options.host_id, ec);
  }
  if (s.final_status.ok() || s.final_status.error_code() == grpc::StatusCode::CANCELLED) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("lost the coordinator: ", s.final_status.error_message()));
}

}  // namespace swarm
