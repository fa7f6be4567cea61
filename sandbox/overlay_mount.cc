#include "sandbox/overlay_mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

absl::Status EnterPrivateMountNamespace() {
  if (unshare(CLONE_NEWNS) != 0) return Errno("cannot make a mount namespace (unshare)");
  // Slave: mounts made outside later (an automounted /home) still arrive; ours never leave.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    return Errno("cannot make the mounts private");
  }
  g_private_mounts = true;
  return absl::OkStatus();
}

absl::Status EnterUserAndMountNamespace() {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return Errno("cannot make a user and mount namespace (unshare)");
  // An unprivileged process may map its own ids only, and its gid only once setgroups is denied.
  auto write = [](const std::string& file, const std::string& text) {
    std::ofstream out(file);
    out << text;
    out.close();
    return static_cast<bool>(out);
  };
  if (!write("/proc/self/setgroups", "deny") || !write("/proc/self/uid_map", absl::StrCat(uid, " ", uid, " 1\n")) ||
      !write("/proc/self/gid_map", absl::StrCat(gid, " ", gid, " 1\n"))) {
    return absl::PermissionDeniedError("cannot map the user into its own user namespace");
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return Errno("cannot make the mounts private");
  g_private_mounts = true;
  return absl::OkStatus();
}

bool InPrivateMountNamespace() { return g_private_mounts; }

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

absl::StatusOr<std::unique_ptr<LayerFs>> LayerFs::Mount(const std::string& dir, const LayerLimits& limits) {
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
  if (attached_) umount2(dir_.c_str(), MNT_DETACH);
  close(fd_);
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
  if (mount(nullptr, path_.c_str(), nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, options.substr(1).c_str()) != 0) {
    return Errno("cannot limit the layer's file system at " + dir_);
  }
  return absl::OkStatus();
}

LayerLimits LayerFs::Used() const {
  struct statfs st;
  if (statfs(path_.c_str(), &st) != 0) return {};
  return LayerLimits{(st.f_blocks - st.f_bfree) * static_cast<std::uint64_t>(st.f_bsize), st.f_files - st.f_ffree};
}

bool LayerFs::Full() const {
  struct statfs st;
  if (statfs(path_.c_str(), &st) != 0) return false;
  return st.f_ffree == 0 || st.f_bavail == 0;
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
  absl::StatusOr<std::unique_ptr<LayerFs>> layer = LayerFs::Mount(dir + "/layer", LayerLimits{1 << 20, 64});
  if (!layer.ok()) return layer.status();
  const std::string upper = (*layer)->path() + "/upper";
  for (const std::string& sub : {upper, (*layer)->path() + "/work"}) fs::create_directory(sub);
  if (absl::Status st = MountOverlay({dir + "/lower"}, upper, (*layer)->path() + "/work", dir + "/merged"); !st.ok()) {
    return st;
  }
  if (absl::Status st = (*layer)->Detach(); !st.ok()) return st;
  std::ofstream(dir + "/merged/a", std::ios::app) << "more\n";
  std::error_code ec;
  fs::remove(dir + "/merged/b", ec);
  UnmountOverlay(dir + "/merged");
  absl::StatusOr<std::vector<std::string>> changes = UpperChanges((*layer)->path() + "/upper");
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
