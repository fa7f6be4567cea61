// Finding 3 over --agent-network: a sandboxed command with a network reached the Control API's TCP
// port on the host's loopback. Now the sandbox keeps its own network namespace with outbound NAT
// (slirp4netns): these tests listen on the host and try, for real, from inside. Each runs as whoever
// runs the suite (root in CI), and once more as an unprivileged user (AsUnprivilegedUser). Nothing
// beyond this machine is reached: "outbound" is a port on the machine's own non-loopback address.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "sandbox/bubblewrap_sandbox.h"
#include "sandbox/pid_ledger.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::MachineAddress;
using ::swarm::testing::ShStatus;
using ::swarm::testing::TempDir;

constexpr char kNestedVariable[] = "SWARM_NETWORK_TEST_NESTED";

// A TCP socket listening on `ip` at a port of the kernel's choosing; -1 when it cannot be had.
int ListenTcp(const std::string& ip, int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

// The slirp4netns processes this process started (and has not reaped).
std::set<int> SlirpChildren() {
  std::set<int> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    if (line.substr(open + 1, close - open - 1) == "slirp4netns" && ppid == getpid()) {
      found.insert(atoi(entry.path().filename().c_str()));
    }
  }
  return found;
}

class AgentNetworkAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bwrap = BubblewrapSandbox::Create();
    ASSERT_TRUE(bwrap.ok()) << bwrap.status();
    sandbox_ = std::move(*bwrap);
    absl::Status network = sandbox_->CheckNetwork();
    ASSERT_TRUE(network.ok()) << network;
    std::filesystem::create_directories(dir_ / "work");
    // The probe is copied into the work tree: the build tree may be where the sandbox user cannot go.
    std::filesystem::copy_file(swarm::testing::BuildDir() + "/sandbox/sandbox_probe", dir_ / "work/probe");
    ASSERT_TRUE(sandbox_->HandOver(dir_ / "work").ok());
    policy_.workdir = dir_ / "work";
    policy_.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"};
    policy_.timeout = std::chrono::seconds(60);
    policy_.network = true;  // what --agent-network gives agent commands
  }

  ProcessResult Run(const std::string& command) {
    absl::StatusOr<ProcessResult> r = RunSandboxed(*sandbox_, policy_, command);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ProcessResult{};
  }
  std::string Probe() const { return dir_ / "work/probe"; }

  TempDir dir_;
  SandboxPolicy policy_;
  std::unique_ptr<BubblewrapSandbox> sandbox_;
};

// The finding itself: `swarm serve --listen 127.0.0.1:PORT`, the model gateway, a developer's
// database: whatever listens on the host's loopback, directly or through slirp's gateway address.
TEST_F(AgentNetworkAttack, HostLoopbackServicesAreUnreachable) {
  int port = 0;
  int fd = ListenTcp("127.0.0.1", &port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ShStatus(absl::StrCat(Probe(), " connect-tcp 127.0.0.1 ", port)), 0) << "the probe must work outside";
  ProcessResult r = Run(absl::StrCat("./probe connect-tcp 127.0.0.1 ", port, "; ./probe connect-tcp 10.0.2.2 ", port,
                                     "; ./probe addresses"));
  EXPECT_EQ(r.out.find("connected"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("address tap0 10.0.2.100"), std::string::npos) << "the network was not up: " << r.out << r.err;
  close(fd);
}

// Abstract Unix sockets (X11's, containerd's, many daemons') belong to a network namespace, not to
// a path: neither the private /tmp nor hidden directories hide them.
TEST_F(AgentNetworkAttack, HostAbstractSocketsAreUnreachable) {
  std::string name = absl::StrCat("swarm-network-test-", getpid());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0) << strerror(errno);
  ASSERT_EQ(listen(fd, 4), 0);
  ASSERT_EQ(ShStatus(Probe() + " connect-unix @" + name), 0) << "the probe must work outside";
  ProcessResult r = Run("./probe connect-unix @" + name + "; ./probe addresses");
  EXPECT_EQ(r.out.find("connected"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("address tap0 10.0.2.100"), std::string::npos) << "the network was not up: " << r.out << r.err;
  close(fd);
}

// Instance metadata (and on most clouds, credentials) at 169.254.169.254. Refused by the sandbox's
// own routing table, at once: EHOSTUNREACH, not a time-out, nor a connection.
TEST_F(AgentNetworkAttack, MetadataAddressIsRefusedAtOnce) {
  ProcessResult r = Run("./probe connect-tcp 169.254.169.254 80; ./probe connect-tcp 169.254.1.1 443");
  EXPECT_EQ(r.out.find("connected"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out, "refused: No route to host\nrefused: No route to host\n") << r.err;
}

// The network is there: an address, a default route through slirp's gateway, its resolver, and a
// connection out through the NAT to a port on this machine's own address.
TEST_F(AgentNetworkAttack, OutboundConnectionsGoThroughTheNat) {
  ProcessResult r = Run("./probe addresses; cat /etc/resolv.conf");
  EXPECT_NE(r.out.find("address tap0 10.0.2.100"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("default-route 10.0.2.2"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("nameserver 10.0.2.3"), std::string::npos) << r.out << r.err;
  std::string ip = MachineAddress();
  if (ip.empty()) GTEST_SKIP() << "this machine has no address beyond loopback to connect out to";
  int port = 0;
  int fd = ListenTcp(ip, &port);
  ASSERT_GE(fd, 0) << ip;
  r = Run(absl::StrCat("./probe connect-tcp ", ip, " ", port));
  EXPECT_EQ(r.out, "connected\n") << ip << ":" << port << " " << r.err;
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  int accepted = accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  EXPECT_GE(accepted, 0) << "the host never saw the connection";
  if (accepted >= 0) close(accepted);
  close(fd);
}

// slirp4netns runs while its command does and not a moment longer, however the command ends.
TEST_F(AgentNetworkAttack, NoSlirp4netnsOutlivesItsCommand) {
  for (bool killed : {false, true}) {
    SCOPED_TRACE(killed ? "killed at its time-out" : "ended by itself");
    policy_.timeout = killed ? std::chrono::seconds(3) : std::chrono::seconds(60);
    std::atomic<bool> running{true};
    std::atomic<bool> seen{false};
    std::thread watch([&] {
      while (running && !seen) {
        if (!SlirpChildren().empty()) seen = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    ProcessResult r = Run(killed ? "sleep 60" : "sleep 1");
    running = false;
    watch.join();
    EXPECT_EQ(r.timed_out, killed) << r.Describe() << r.err;
    EXPECT_TRUE(seen) << "slirp4netns never ran";
    EXPECT_TRUE(SlirpChildren().empty()) << "slirp4netns outlived its command";
  }
}

// Agents start commands at once: each gets its own namespace, slirp4netns and route, all torn down.
TEST_F(AgentNetworkAttack, CommandsStartedAtOnceEachGetTheirOwnNetwork) {
  boost::asio::io_context io;
  constexpr int kCommands = 8;
  std::vector<absl::StatusOr<ProcessResult>> results(kCommands, absl::UnknownError("never ran"));
  for (int i = 0; i < kCommands; ++i) {
    absl::Status started =
        StartSandboxed(io, *sandbox_, policy_, "./probe addresses; ./probe connect-tcp 169.254.169.254 80; true",
                       [&results, i](absl::StatusOr<ProcessResult> r) { results[i] = std::move(r); });
    ASSERT_TRUE(started.ok()) << started;
  }
  io.run();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok()) << r->Describe() << r->err;
    EXPECT_NE(r->out.find("address tap0 10.0.2.100"), std::string::npos) << r->out << r->err;
    EXPECT_NE(r->out.find("refused: No route to host"), std::string::npos) << r->out << r->err;
  }
  EXPECT_TRUE(SlirpChildren().empty()) << "slirp4netns outlived its command";
}

// slirp4netns's own sandbox keeps the host's /etc and /run: /run holds the sockets of docker, D-Bus
// and ssh or gpg agents, /etc the machine's accounts and keys (a hole in libslirp, reached by the
// packets an agent sends, could read or connect to them). It gets an empty /run and an /etc holding
// only copies of the host's resolver file (names still resolve through it) and the loader's cache.
TEST_F(AgentNetworkAttack, Slirp4netnsSeesNoneOfTheHostsRunOrEtc) {
  std::string host_resolver;
  {
    std::ifstream in("/etc/resolv.conf");
    host_resolver.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::atomic<bool> running{true};
  std::atomic<int> looked{0};
  std::mutex mu;
  std::set<std::string> seen;       // what slirp4netns saw under its /run and /etc
  std::set<std::string> resolvers;  // what its /etc/resolv.conf said
  std::thread watch([&] {
    while (running) {
      for (int pid : SlirpChildren()) {
        // What a process saw counts only if it was the same live slirp4netns all along: one that
        // exits meanwhile has its mounts torn down (its /run then shows the directory beneath), and
        // its pid may go to another process (pids wrap at 32768 here).
        const std::optional<std::uint64_t> start = swarm::PidLedger::StartTime(pid);
        if (!start) continue;
        // Until its sandbox is set up (a moment after its exec, longer on a busy machine) it still has
        // the host's root: what it sees counts from its pivot on.
        struct stat own_root {}, its_root {};
        if (stat("/", &own_root) != 0 || stat(absl::StrCat("/proc/", pid, "/root/").c_str(), &its_root) != 0 ||
            (own_root.st_dev == its_root.st_dev && own_root.st_ino == its_root.st_ino)) {
          continue;
        }
        std::set<std::string> listed;
        bool complete = true;
        for (const char* dir : {"/run", "/etc"}) {
          std::error_code list_error;
          const std::string root = absl::StrCat("/proc/", pid, "/root", dir);
          std::filesystem::recursive_directory_iterator it(root, list_error), end;
          for (; !list_error && it != end; it.increment(list_error)) {
            listed.insert(dir + it->path().string().substr(root.size()));
          }
          complete = complete && !list_error;
        }
        std::ifstream in(absl::StrCat("/proc/", pid, "/root/etc/resolv.conf"));
        std::string resolver((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!complete || swarm::PidLedger::StartTime(pid) != start || !SlirpChildren().count(pid)) continue;
        ++looked;
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(listed.begin(), listed.end());
        resolvers.insert(resolver);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  ProcessResult r = Run("sleep 2; cat /etc/resolv.conf");
  running = false;
  watch.join();
  EXPECT_EQ(r.exit_code, 0) << r.Describe() << r.err;
  EXPECT_GT(looked.load(), 0) << "slirp4netns's /run and /etc were never seen";
  for (const std::string& path : seen) {
    EXPECT_TRUE(path == "/etc/resolv.conf" || path == "/etc/ld.so.cache")
        << "slirp4netns sees " << path << " of the host";
  }
  EXPECT_EQ(resolvers, std::set<std::string>{host_resolver});
}

// The whole suite again as an ordinary user, created for the purpose: bubblewrap makes a user
// namespace then, and slirp4netns joins the one that owns the sandbox's network.
TEST(AgentNetworkAttackAsUser, AsUnprivilegedUser) {
  if (getenv(kNestedVariable) != nullptr) GTEST_SKIP() << "already the unprivileged run";
  if (geteuid() != 0) GTEST_SKIP() << "creating a user needs root; this run is already unprivileged";
  struct stat tun {};
  if (stat("/dev/net/tun", &tun) != 0 || (tun.st_mode & 0006) != 0006) {
    GTEST_SKIP() << "/dev/net/tun is not open to every user here (udev makes it 0666; scripts/install-deps.sh does "
                    "where udev does not run): slirp4netns cannot run as an ordinary user";
  }
  const passwd* pw = swarm::testing::UnprivilegedTestUser();
  ASSERT_NE(pw, nullptr);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  std::string out;
  int status = ShStatus(absl::StrCat("env ", kNestedVariable, "=1 SWARM_BUILD_DIR=", swarm::testing::BuildDir(),
                                     " HOME=/tmp setpriv --reuid=", pw->pw_uid, " --regid=", pw->pw_gid,
                                     " --clear-groups ", self, " --gtest_filter='AgentNetworkAttack.*'"),
                        &out);
  EXPECT_EQ(status, 0) << out;
  // Every attack ran (the one reaching out is skipped where there is nothing to reach).
  EXPECT_NE(out.find(MachineAddress().empty() ? "[  PASSED  ] 6 tests." : "[  PASSED  ] 7 tests."), std::string::npos)
      << out;
}

}  // namespace
}  // namespace swarm
