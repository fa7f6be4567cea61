// A small program the sandbox tests run inside the sandbox to try what a sandboxed command must not
// be able to do. Prints what happened; exits 0 when the attempt succeeded, 1 when it failed.
//   sandbox_probe connect-unix PATH   (@NAME: the abstract socket NAME)
//   sandbox_probe connect-tcp IPV4 PORT   gives up after 10 s ("refused: Connection timed out")
//   sandbox_probe syscalls      one line per refused-or-allowed call: "NAME ok" or "NAME errno=E"
//   sandbox_probe x32           a call through the x32 ABI (the filter kills the process)
//   sandbox_probe addresses     "address IFACE IPV4" per address, "default-route GATEWAY" if any
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void Report(const char* name, long rc) {
  if (rc >= 0) {
    printf("%s ok\n", name);
  } else {
    printf("%s errno=%d\n", name, errno);
  }
}

void* Nothing(void*) { return nullptr; }

int Syscalls() {
  char buf[64] = {0};
  Report("io_uring_setup", syscall(SYS_io_uring_setup, 1, buf));
  Report("bpf", syscall(SYS_bpf, 0, buf, 0));
  Report("keyctl", syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, 0));
  Report("add_key", syscall(SYS_add_key, "user", "swarm", "x", 1, -3 /* KEY_SPEC_SESSION_KEYRING */));
  Report("request_key", syscall(SYS_request_key, "user", "swarm", nullptr, 0));
  Report("userfaultfd", syscall(SYS_userfaultfd, 0));
  Report("perf_event_open", syscall(SYS_perf_event_open, buf, 0, -1, -1, 0));
  Report("ptrace", syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0));
  Report("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr));
  Report("setns", syscall(SYS_setns, 0, 0));
  Report("chroot", syscall(SYS_chroot, "/"));
  Report("clone3", syscall(SYS_clone3, buf, 64));
  Report("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
  Report("unshare_mount", syscall(SYS_unshare, CLONE_NEWNS));
  // Bit 32 set above the flag: the kernel would ignore it, the filter must not be fooled.
  Report("socket_vsock", syscall(SYS_socket, 40 /* AF_VSOCK */ | (1ul << 32), SOCK_STREAM, 0));
  Report("socket_unix", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
  Report("socket_inet", syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
  Report("personality_query", syscall(SYS_personality, 0xffffffff));
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, Nothing, nullptr);
  if (err == 0) pthread_join(thread, nullptr);
  errno = err;
  Report("pthread_create", err == 0 ? 0 : -1);
  pid_t child = fork();
  if (child == 0) _exit(0);
  if (child > 0) waitpid(child, nullptr, 0);
  Report("fork", child);
  return 0;
}

int Addresses() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return 1;
  for (ifaddrs* a = all; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    printf("address %s %s\n", a->ifa_name, text);
  }
  freeifaddrs(all);
  // /proc/net/route: "Iface Destination Gateway ...", addresses in hex, in the host's byte order.
  FILE* routes = fopen("/proc/net/route", "r");
  if (routes == nullptr) return 1;
  char line[512];
  while (fgets(line, sizeof line, routes) != nullptr) {
    char iface[64];
    unsigned destination = 0, gateway = 0;
    if (sscanf(line, "%63s %x %x", iface, &destination, &gateway) == 3 && destination == 0) {
      in_addr g{gateway};
      printf("default-route %s\n", inet_ntoa(g));
    }
  }
  fclose(routes);
  return 0;
}

// connect() that gives up after `seconds`, as ETIMEDOUT.
int ConnectWithin(int fd, const sockaddr* addr, socklen_t len, int seconds) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (connect(fd, addr, len) == 0) return 0;
  if (errno != EINPROGRESS) return -1;
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, seconds * 1000) != 1) {
    errno = ETIMEDOUT;
    return -1;
  }
  int err = 0;
  socklen_t n = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n);
  errno = err;
  return err == 0 ? 0 : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "syscalls") return Syscalls();
  if (argc == 2 && std::string(argv[1]) == "addresses") return Addresses();
  if (argc == 2 && std::string(argv[1]) == "x32") {
    long rc = syscall(0x40000000 /* __X32_SYSCALL_BIT */ | SYS_getpid);
    printf("x32 call returned %ld\n", rc);
    return 0;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: sandbox_probe connect-unix PATH | connect-tcp IPV4 PORT\n");
    return 2;
  }
  std::string what = argv[1];
  int rc = -1;
  if (what == "connect-unix") {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, argv[2], sizeof addr.sun_path - 1);
    socklen_t len = sizeof addr;
    if (argv[2][0] == '@') {  // abstract: a leading NUL, and the name's exact length
      addr.sun_path[0] = '\0';
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + strlen(argv[2]));
    }
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  } else if (what == "connect-tcp" && argc == 4) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(atoi(argv[3])));
    inet_pton(AF_INET, argv[2], &addr.sin_addr);
    rc = ConnectWithin(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, 10);
  } else {
    fprintf(stderr, "unknown probe %s\n", what.c_str());
    return 2;
  }
  if (rc == 0) {
    printf("connected\n");
    return 0;
  }
  printf("refused: %s\n", strerror(errno));
  return 1;
}
