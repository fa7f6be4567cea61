#include "tools/workspace_path.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace swarm {
namespace fs = std::filesystem;

namespace {

bool Inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ConfinedPath(const std::string& root, const std::string& path) {
  if (root.empty() || root.front() != '/') return absl::InternalError("the workspace root is not an absolute path");
  if (path.empty()) return absl::InvalidArgumentError("the path is empty");
  if (path.find('\0') != std::string::npos) return absl::InvalidArgumentError("the path contains a NUL byte");
  const fs::path base(root);
  fs::path p = fs::path(path).is_absolute() ? fs::path(path) : base / path;
  p = p.lexically_normal();
  if (!p.empty() && p.filename().empty()) p = p.parent_path();  // "dir/" names dir
  if (!Inside(base, p)) {
    return absl::PermissionDeniedError(absl::StrCat("the path ", path, " leaves the repository: paths are relative to its root"));
  }
  // The longest part of it that exists must resolve inside the root too (a symlink may point out).
  fs::path existing = p;
  std::error_code ec;
  while (!existing.empty() && existing != base && !fs::exists(fs::symlink_status(existing, ec))) {
    existing = existing.parent_path();
  }
  const fs::path real = fs::weakly_canonical(existing, ec);
  if (ec || !Inside(base, real)) {
    return absl::PermissionDeniedError(
        absl::StrCat("the path ", path, " leads out of the repository through a symbolic link"));
  }
  // Named or reached through a link: .git is not the agent's.
  const fs::path named = p.lexically_relative(base), reached = real.lexically_relative(base);
  if ((!named.empty() && *named.begin() == ".git") || (!reached.empty() && *reached.begin() == ".git")) {
    return absl::PermissionDeniedError(absl::StrCat("the path ", path, " is inside .git, which agents do not touch"));
  }
  return p.string();
}

std::string RelativeToRoot(const std::string& root, const std::string& absolute) {
  const std::string rel = fs::path(absolute).lexically_relative(root).string();
  return rel.empty() ? "." : rel;
}

}  // namespace swarm
