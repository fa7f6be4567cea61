// A small program the sandbox tests run inside the sandbox to try what a sandboxed command must not
// be able to do. Prints what happened; exits 0 when the attempt succeeded, 1 when it failed.
//   sandbox_probe connect-unix PATH
//   sandbox_probe connect-tcp IPV4 PORT
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
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
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else if (what == "connect-tcp" && argc == 4) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(atoi(argv[3])));
    inet_pton(AF_INET, argv[2], &addr.sin_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
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
