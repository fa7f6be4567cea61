#include "sandbox/sandbox_identity.h"

#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sandbox/process.h"

namespace swarm {
namespace {

bool LookUp(SandboxIdentity* id) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(kSandboxUser, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return false;
  id->uid = found->pw_uid;
  id->gid = found->pw_gid;
  return true;
}

// The identity handed over by nftw, which takes no context.
thread_local uid_t tl_uid;
thread_local gid_t tl_gid;
thread_local int tl_errno;

int Chown(const char* path, const struct stat*, int, FTW*) {
  if (lchown(path, tl_uid, tl_gid) != 0 && errno != ENOENT) {
    tl_errno = errno;
    return 1;
  }
  return 0;
}

}  // namespace

absl::StatusOr<SandboxIdentity> SandboxIdentity::ForThisProcess() {
  SandboxIdentity id;
  if (geteuid() != 0) {
    id.uid = geteuid();
    id.gid = getegid();
    return id;
  }
  // Hosts of one run start together: create the user once per process, and tolerate a racing peer.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  id.switch_user = true;
  if (LookUp(&id)) {
    if (id.uid == 0 || id.gid == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("the sandbox user ", kSandboxUser, " has uid or gid 0; it must be an unprivileged user"));
    }
    return id;
  }
  ProcessSpec spec;
  spec.argv = {"useradd", "--system",   "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
               "--shell", "/usr/sbin/nologin", kSandboxUser};
  const std::string command = absl::StrJoin(spec.argv, " ");
  spec.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  spec.timeout = std::chrono::seconds(30);
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  if (LookUp(&id)) return id;
  return absl::FailedPreconditionError(absl::StrCat(
      "running as root, sandboxed commands run as the unprivileged user ", kSandboxUser,
      ", which does not exist and could not be created (", r.ok() ? r->Describe() + ": " + r->err : r.status().ToString(),
      "); create it with: ", command));
}

absl::Status SandboxIdentity::HandOver(const std::string& path) const {
  if (!switch_user) return absl::OkStatus();
  tl_uid = uid;
  tl_gid = gid;
  tl_errno = 0;
  if (nftw(path.c_str(), Chown, 64, FTW_PHYS) != 0) {
    int e = tl_errno != 0 ? tl_errno : errno;
    return absl::PermissionDeniedError(
        absl::StrCat("cannot give ", path, " to the sandbox user ", kSandboxUser, ": ", strerror(e)));
  }
  return absl::OkStatus();
}

}  // namespace swarm
