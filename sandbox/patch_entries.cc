#include "sandbox/patch_entries.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sandbox/terminal_text.h"
#include "sandbox/workspace.h"

namespace swarm {

absl::StatusOr<std::vector<PatchEntry>> ListPatchEntries(const Git& git, const std::string& base,
                                                         const std::string& tree) {
  absl::StatusOr<std::string> raw = git.Run({"diff-tree", "-r", "-z", "--no-renames", base, tree});
  if (!raw.ok()) return raw.status();
  std::vector<std::string> fields = absl::StrSplit(*raw, '\0');
  std::vector<PatchEntry> entries;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    // ":old_mode new_mode old_sha new_sha status" then the path.
    std::vector<std::string> meta = absl::StrSplit(fields[i], ' ');
    if (meta.size() < 5) return absl::InternalError(absl::StrCat("git diff-tree printed '", fields[i], "'"));
    PatchEntry entry;
    entry.path = fields[i + 1];
    entry.new_mode = meta[1];
    if (entry.new_mode == "120000") {
      absl::StatusOr<std::string> target = git.Run({"cat-file", "blob", meta[3]});
      if (!target.ok()) return target.status();
      entry.link_target = std::move(*target);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

bool HasGitComponent(absl::string_view path) {
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (absl::EqualsIgnoreCase(part, ".git")) return true;
  }
  return false;
}

absl::Status CheckPatchEntries(const std::vector<PatchEntry>& entries) {
  for (const PatchEntry& e : entries) {
    std::string path = TerminalSafe(e.path);
    if (e.new_mode == "160000") {
      return absl::InvalidArgumentError(absl::StrCat("the patch adds a nested repository (gitlink) at ", path));
    }
    if (HasGitComponent(e.path)) {
      return absl::InvalidArgumentError(absl::StrCat("the patch writes inside a .git directory: ", path));
    }
    if (e.new_mode == "120000" && !SymlinkStaysInside(e.path, e.link_target)) {
      return absl::InvalidArgumentError(absl::StrCat("the patch adds a symlink leading out of the repository or into ",
                                                     ".git: ", path, " -> ", TerminalSafe(e.link_target)));
    }
  }
  return absl::OkStatus();
}

}  // namespace swarm
