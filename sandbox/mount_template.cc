#include "sandbox/mount_template.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace swarm {
namespace {

absl::Mutex g_mu;
std::shared_ptr<const OwnedFd> g_template ABSL_GUARDED_BY(g_mu);

// A copy of the calling process's mount namespace, made on a thread of its own (a mount namespace
// is per thread once the thread unshares its filesystem context), held by a descriptor.
absl::StatusOr<std::shared_ptr<const OwnedFd>> CopyOfThisNamespace() {
  int fd = -1;
  int error = 0;
  std::thread([&] {
    if (unshare(CLONE_NEWNS) != 0) {
      error = errno;
      return;
    }
    fd = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (fd < 0) error = errno;
  }).join();
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot copy the mount namespace: ", strerror(error)));
  return std::make_shared<const OwnedFd>(fd);
}

// Starts `true` in a copy of `base` with a bind of a fresh directory attached, as every sandbox will.
absl::Status Probe(const std::shared_ptr<const OwnedFd>& base) {
  char dir[] = "/tmp/swarm-mount-template-XXXXXX";
  if (mkdtemp(dir) == nullptr) return absl::FailedPreconditionError(absl::StrCat("mkdtemp: ", strerror(errno)));
  absl::StatusOr<std::shared_ptr<const OwnedFd>> tree = CloneTree(dir);
  absl::Status st = tree.status();
  if (tree.ok()) {
    ProcessSpec spec;
    spec.argv = {"/bin/true"};
    spec.cwd = dir;
    spec.mount_namespace = ProcessSpec::MountNamespace{base, {{*tree, dir}}};
    absl::StatusOr<ProcessResult> r = RunProcess(spec);
    st = !r.ok()   ? r.status()
         : r->ok() ? absl::OkStatus()
                   : absl::FailedPreconditionError("a child in the template's copy: " + r->Describe());
  }
  rmdir(dir);
  return st;
}

}  // namespace

absl::Status MakeMountTemplate() {
  absl::MutexLock lock(&g_mu);
  if (g_template != nullptr) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const OwnedFd>> copy = CopyOfThisNamespace();
  absl::Status st = copy.status();
  if (st.ok()) st = Probe(*copy);
  if (!st.ok()) return absl::FailedPreconditionError(st.message());
  g_template = *std::move(copy);
  return absl::OkStatus();
}

absl::Status RenewMountTemplate() {
  absl::MutexLock lock(&g_mu);
  if (g_template == nullptr) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const OwnedFd>> copy = CopyOfThisNamespace();
  if (!copy.ok()) return copy.status();
  g_template = *std::move(copy);
  return absl::OkStatus();
}

std::shared_ptr<const OwnedFd> MountTemplate() {
  absl::MutexLock lock(&g_mu);
  return g_template;
}

absl::StatusOr<std::shared_ptr<const OwnedFd>> CloneTree(const std::string& path) {
  int fd = open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot take a copy of the tree at ", path, ": ", strerror(errno)));
  }
  return std::make_shared<const OwnedFd>(fd);
}

}  // namespace swarm
