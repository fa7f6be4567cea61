#include "sandbox/overlay_mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sandbox/beneath.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

absl::Status Errno(const std::string& what) {
  int e = errno;
  std::string msg = absl::StrCat(what, ": ", strerror(e));
  return e == EPERM || e == EACCES ? absl::PermissionDeniedError(msg) : absl::InternalError(msg);
}

// ",size=N,nr_inodes=M" for tmpfs. size=0 and nr_inodes=0 would mean "unlimited" to it: say
// nothing for no limit instead, and round a tiny one up to a page.
std::string TmpfsLimitOptions(const LayerLimits& limits) {
  std::string options;
  if (limits.bytes > 0) absl::StrAppend(&options, ",size=", std::max<std::uint64_t>(limits.bytes, 4096));
  if (limits.inodes > 0) absl::StrAppend(&options, ",nr_inodes=", limits.inodes);
  return options;
}

bool IsOpaque(const std::string& path) {
  char value[2] = {};
  for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    if (lgetxattr(path.c_str(), name, value, sizeof(value)) > 0 && value[0] == 'y') return true;
  }
  return false;
}

// A directory renamed from elsewhere (redirect_dir): its content is below, under its old name.
bool IsRedirected(const std::string& path) {
  for (const char* name : {"trusted.overlay.redirect", "user.overlay.redirect"}) {
    if (lgetxattr(path.c_str(), name, nullptr, 0) >= 0) return true;
  }
  return false;
}

// Walks `dir` (relative path `rel` from the root) without following links; appends what changed.
absl::Status Walk(const std::string& dir, const std::string& rel, std::vector<std::string>& out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Errno("cannot read " + dir);
  absl::Status status;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (rel.empty() && name == ".git") continue;
    std::string path = dir + "/" + name;
    std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      status = Errno("cannot stat " + path);
      break;
    }
    struct stat git_dir;
    const bool nested_repository = lstat((path + "/.git").c_str(), &git_dir) == 0;
    if (S_ISDIR(st.st_mode) && !IsOpaque(path) && !IsRedirected(path) && !nested_repository) {
      // Holds changes below it (it may also be new: its files are then listed one by one).
      status = Walk(path, child, out);
      if (!status.ok()) break;
      continue;
    }
    // A directory that replaces what was below it, was renamed here whole, or holds a repository of
    // its own (which `git add` of the directory turns into a gitlink, refused as a clone's is) is
    // listed as one path.
    // A file, a link, a whiteout (a character device 0/0: deleted) or an opaque directory: the path
    // changed, and what the merged view shows there is what it is now.
    out.push_back(child);
  }
  closedir(d);
  return status;
}

}  // namespace

std::atomic<bool> g_private_mounts{false};
absl::Mutex g_why_mu;
std::string g_why ABSL_GUARDED_BY(g_why_mu);

absl::Status Remember(absl::Status st) {
  if (!st.ok()) {
    absl::MutexLock lock(&g_why_mu);
    g_why = std::string(st.message());
  }
  return st;
}

absl::Status EnterPrivateMountNamespace() {
  if (unshare(CLONE_NEWNS) != 0) return Remember(Errno("cannot make a mount namespace (unshare)"));
  // Slave: mounts made outside later (an automounted /home) still arrive; ours never leave.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    return Remember(Errno("cannot make the mounts private"));
  }
  g_private_mounts = true;
  return absl::OkStatus();
}

namespace {

// Unshares the user and mount namespaces, maps the ids to themselves, and makes the mounts private.
// The reason on failure; `unshared` says whether the process has left its user namespace already.
std::string UnshareUserAndMounts(bool* unshared) {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  *unshared = false;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return absl::StrCat("unshare: ", strerror(errno));
  *unshared = true;
  // An unprivileged process may map its own ids only, and its gid only once setgroups is denied.
  auto write = [](const char* file, const std::string& text) {
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    return ok;
  };
  if (!write("/proc/self/setgroups", "deny")) return absl::StrCat("/proc/self/setgroups: ", strerror(errno));
  if (!write("/proc/self/uid_map", absl::StrCat(uid, " ", uid, " 1\n"))) {
    return absl::StrCat("mapping the uid (an AppArmor or kernel policy on user namespaces?): ", strerror(errno));
  }
  if (!write("/proc/self/gid_map", absl::StrCat(gid, " ", gid, " 1\n"))) {
    return absl::StrCat("mapping the gid: ", strerror(errno));
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    return absl::StrCat("making the mounts private: ", strerror(errno));
  }
  return "";
}

}  // namespace

absl::Status EnterUserAndMountNamespace() {
  // Tried first in a child: a kernel or AppArmor policy may let a process leave its user namespace
  // and then refuse to map it into the new one, leaving it with no uid at all (Ubuntu 23.10 on).
  // The child also mounts and caps a tmpfs, as a layer's file system will be.
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Remember(Errno("pipe"));
  const pid_t child = fork();
  if (child < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return Remember(Errno("fork"));
  }
  if (child == 0) {
    close(pipe_fds[0]);
    bool unshared = false;
    std::string why = UnshareUserAndMounts(&unshared);
    if (why.empty() && mount("swarm-probe", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=1048576") != 0) {
      why = absl::StrCat("mounting a tmpfs: ", strerror(errno));
    }
    if (why.empty() && mount(nullptr, "/tmp", nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=2097152,nr_inodes=64") != 0) {
      why = absl::StrCat("limiting a tmpfs: ", strerror(errno));
    }
    if (!why.empty() && ::write(pipe_fds[1], why.data(), why.size()) < 0) _exit(2);
    _exit(why.empty() ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string why;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof(buf))) > 0;) why.append(buf, static_cast<std::size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !why.empty()) {
    return Remember(absl::FailedPreconditionError(
        absl::StrCat("no user namespace of swarm's own here (", why.empty() ? "the trial failed" : why, ")")));
  }
  bool unshared = false;
  why = UnshareUserAndMounts(&unshared);
  if (why.empty()) {
    g_private_mounts = true;
    return absl::OkStatus();
  }
  // Half made (the trial worked, this did not): the process cannot go on as its user.
  return Remember(unshared ? absl::InternalError("left the user namespace but could not enter a new one: " + why)
                           : absl::FailedPreconditionError("no user namespace of swarm's own here (" + why + ")"));
}

bool InPrivateMountNamespace() { return g_private_mounts; }

std::string WhyNoPrivateMountNamespace() {
  if (g_private_mounts) return "";
  absl::MutexLock lock(&g_why_mu);
  return g_why.empty() ? "swarm made no mount namespace of its own" : g_why;
}

absl::Status MountOverlay(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                          const std::string& merged) {
  for (const std::string& p : lowers) {
    // overlayfs splits its options on ',' and lowerdir on ':'; swarm's own paths never hold them.
    if (p.find_first_of(",:\\") != std::string::npos) return absl::InvalidArgumentError("overlay path " + p);
  }
  for (const std::string* p : {&upper, &work}) {
    if (p->find_first_of(",:\\") != std::string::npos) return absl::InvalidArgumentError("overlay path " + *p);
  }
  // redirect_dir: a directory of the lower layer can be renamed (`git mv dir`, os.rename) instead
  // of failing with EXDEV.
  std::string options = absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":"), ",upperdir=", upper, ",workdir=", work,
                                     ",redirect_dir=on");
  if (mount("overlay", merged.c_str(), "overlay", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return Errno("cannot mount the overlay at " + merged);
  }
  if (mount(nullptr, merged.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    int e = errno;
    umount2(merged.c_str(), MNT_DETACH);
    errno = e;
    return Errno("cannot make the overlay at " + merged + " private");
  }
  return absl::OkStatus();
}

void UnmountOverlay(const std::string& merged) { umount2(merged.c_str(), MNT_DETACH); }

LayerLimits GrownBy(const LayerLimits& used, const LayerLimits& growth) {
  LayerLimits cap;
  if (growth.bytes > 0) cap.bytes = used.bytes + growth.bytes;
  if (growth.inodes > 0) cap.inodes = used.inodes + growth.inodes;
  return cap;
}

absl::StatusOr<std::unique_ptr<LayerFs>> LayerFs::Mount(const std::string& dir, const LayerLimits& limits) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::string options = "mode=0700" + TmpfsLimitOptions(limits);
  if (mount("swarm-layer", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return Errno("cannot mount a layer's file system at " + dir);
  }
  int fd = -1;
  if (mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0 ||
      (fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    int e = errno;
    umount2(dir.c_str(), MNT_DETACH);
    errno = e;
    return Errno("cannot hold the layer's file system at " + dir);
  }
  return std::unique_ptr<LayerFs>(new LayerFs(dir, fd));
}

LayerFs::~LayerFs() {
  // Emptied before it goes: a sandbox's copy of the mount would keep it, and all it holds in RAM.
  EmptyAndRemove(path_, /*keep_dir=*/true, /*whole_fs=*/true);
  if (attached_) umount2(dir_.c_str(), MNT_DETACH);
  close(fd_);
}

void EmptyAndRemove(const std::string& dir, bool keep_dir, bool whole_fs) {
  std::error_code ec;
  const int dir_fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
        // Relative by its spelling: resolving /proc/self/fd/N would name a detached mount's root "/".
        const std::string path = it->path().string();
        if (path.size() > dir.size() + 1) {
          TruncateFileBeneath(dir_fd, path.substr(dir.size() + 1), whole_fs).IgnoreError();
        }
      }
    }
    close(dir_fd);
  }
  if (keep_dir) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
  } else {
    fs::remove_all(dir, ec);
  }
}

absl::Status LayerFs::Detach() {
  if (!attached_) return absl::OkStatus();
  if (umount2(dir_.c_str(), MNT_DETACH) != 0) return Errno("cannot detach the layer's file system at " + dir_);
  attached_ = false;
  path_ = absl::StrCat("/proc/self/fd/", fd_);
  return absl::OkStatus();
}

absl::Status LayerFs::Limit(const LayerLimits& limits) {
  const std::string options = TmpfsLimitOptions(limits);
  if (options.empty()) return absl::OkStatus();
  if (!attached_) return absl::FailedPreconditionError("a detached layer cannot be limited anew");
  if (mount(nullptr, path_.c_str(), nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, options.substr(1).c_str()) != 0) {
    return Errno("cannot limit the layer's file system at " + dir_);
  }
  return absl::OkStatus();
}

absl::Status LayerFs::LimitGrowth(const LayerLimits& growth) { return Limit(GrownBy(Used(), growth)); }

LayerLimits LayerFs::Used() const {
  struct statfs st;
  if (fstatfs(fd_, &st) != 0) return {};
  return LayerLimits{(st.f_blocks - st.f_bfree) * static_cast<std::uint64_t>(st.f_bsize), st.f_files - st.f_ffree};
}

bool LayerFs::Full() const {
  struct statfs st;
  if (fstatfs(fd_, &st) != 0) return false;
  return st.f_ffree == 0 || st.f_bavail == 0;
}

absl::Status ProbeLayerFs(const std::string& scratch_dir) {
  const std::string dir = scratch_dir + "/layer-probe";
  std::error_code ec;
  fs::create_directory(dir, ec);
  absl::Status st = absl::OkStatus();
  {
    absl::StatusOr<std::unique_ptr<LayerFs>> layer = LayerFs::Mount(dir, LayerLimits{});
    if (!layer.ok()) {
      st = layer.status();
    } else {
      std::ofstream((*layer)->path() + "/f") << "f";
      const LayerLimits used = (*layer)->Used();
      st = used.inodes == 0 ? absl::InternalError("a layer's file system does not count what it holds")
                            : (*layer)->LimitGrowth(LayerLimits{1 << 20, 16});
    }
  }
  fs::remove(dir, ec);
  return st;
}

bool OnTmpfs(const std::string& path) {
  struct statfs st;
  return statfs(path.c_str(), &st) == 0 && st.f_type == TMPFS_MAGIC;
}

absl::Status ProbeOverlay(const std::string& scratch_dir) {
  char tmpl[4096];
  std::string pattern = scratch_dir + "/overlay-probe-XXXXXX";
  if (pattern.size() >= sizeof(tmpl)) return absl::InvalidArgumentError("scratch path too long");
  memcpy(tmpl, pattern.c_str(), pattern.size() + 1);
  if (mkdtemp(tmpl) == nullptr) return Errno("cannot create a directory under " + scratch_dir);
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  for (const char* sub : {"/lower", "/layer", "/merged"}) fs::create_directory(dir + sub);
  std::ofstream(dir + "/lower/a") << "a\n";
  std::ofstream(dir + "/lower/b") << "b\n";
  // The upper layer where real ones will be: a file system of its own where the scratch directory
  // is a tmpfs (workspaces in RAM), else a directory beside the lower one.
  std::unique_ptr<LayerFs> layer;
  if (OnTmpfs(scratch_dir)) {
    absl::StatusOr<std::unique_ptr<LayerFs>> made = LayerFs::Mount(dir + "/layer", LayerLimits{1 << 20, 64});
    if (!made.ok()) return made.status();
    layer = *std::move(made);
  }
  std::string upper_fs = layer != nullptr ? layer->path() : dir + "/layer";
  for (const std::string& sub : {upper_fs + "/upper", upper_fs + "/work"}) fs::create_directory(sub);
  if (absl::Status st = MountOverlay({dir + "/lower"}, upper_fs + "/upper", upper_fs + "/work", dir + "/merged");
      !st.ok()) {
    return st;
  }
  // Detached before the writes, as a workspace's layer is.
  if (absl::Status st = layer != nullptr ? layer->Detach() : absl::OkStatus(); !st.ok()) {
    UnmountOverlay(dir + "/merged");
    return st;
  }
  if (layer != nullptr) upper_fs = layer->path();
  std::ofstream(dir + "/merged/a", std::ios::app) << "more\n";
  std::error_code ec;
  fs::remove(dir + "/merged/b", ec);
  UnmountOverlay(dir + "/merged");
  absl::StatusOr<std::vector<std::string>> changes = UpperChanges(upper_fs + "/upper");
  if (!changes.ok()) return changes.status();
  if (*changes != std::vector<std::string>{"a", "b"} && *changes != std::vector<std::string>{"b", "a"}) {
    return absl::InternalError(absl::StrCat("the overlay's upper layer does not show the changes made (",
                                            absl::StrJoin(*changes, ", "), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> UpperChanges(const std::string& upper) {
  std::vector<std::string> out;
  if (absl::Status st = Walk(upper, "", out); !st.ok()) return st;
  return out;
}

}  // namespace swarm
