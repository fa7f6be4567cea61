#include "git/patch_entries.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/terminal_text.h"
#include "git/workspace.h"

namespace swarm {
namespace {

// An all-zero object id: the path did not exist on that side.
bool IsAbsent(const std::string& object) { return object.find_first_not_of('0') == std::string::npos; }

// The paths the patch adds (gitlinks, refused anyway, aside).
std::uint64_t AddedFiles(const std::vector<PatchEntry>& entries) {
  std::uint64_t n = 0;
  for (const PatchEntry& e : entries) n += e.new_mode != "160000" && IsAbsent(e.old_object) && !IsAbsent(e.new_object);
  return n;
}

}  // namespace

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
    entry.old_object = meta[2];
    entry.new_object = meta[3];
    if (entry.new_mode == "120000") {
      GitOptions link;
      link.output_cap = 8192;  // a link's target is a path: more is an attack, not a link
      absl::StatusOr<std::string> target = git.Run({"cat-file", "blob", meta[3]}, link);
      if (!target.ok()) return target.status();
      entry.link_target = std::move(*target);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<PatchGrowth> MeasurePatchGrowth(const Git& git, const std::vector<PatchEntry>& entries) {
  // Gitlinks name commits of another repository: they have no size here (and are refused anyway).
  std::string objects;
  std::vector<int> signs;  // +1 a written blob, -1 a replaced one
  PatchGrowth growth;
  growth.files = AddedFiles(entries);
  for (const PatchEntry& e : entries) {
    if (e.new_mode == "160000") continue;
    if (!IsAbsent(e.new_object)) {
      absl::StrAppend(&objects, e.new_object, "\n");
      signs.push_back(1);
    }
    if (!IsAbsent(e.old_object)) {
      absl::StrAppend(&objects, e.old_object, "\n");
      signs.push_back(-1);
    }
  }
  if (signs.empty()) return growth;
  GitOptions opts;
  opts.stdin_data = std::move(objects);
  absl::StatusOr<std::string> sizes = git.Run({"cat-file", "--batch-check=%(objectsize)"}, opts);
  if (!sizes.ok()) return sizes.status();
  std::vector<absl::string_view> lines = absl::StrSplit(*sizes, '\n', absl::SkipEmpty());
  if (lines.size() != signs.size()) {
    return absl::InternalError(absl::StrCat("git cat-file answered ", lines.size(), " sizes for ", signs.size(), " objects"));
  }
  std::int64_t net = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::uint64_t size = 0;
    if (!absl::SimpleAtoi(lines[i], &size)) {
      return absl::InternalError(absl::StrCat("git cat-file: ", TerminalSafe(std::string(lines[i]))));
    }
    net += signs[i] * static_cast<std::int64_t>(size);
  }
  growth.bytes = net > 0 ? static_cast<std::uint64_t>(net) : 0;
  return growth;
}

absl::Status CheckPatchGrowth(const PatchGrowth& growth, const PatchLimits& limits) {
  if (limits.max_growth_bytes > 0 && growth.bytes > limits.max_growth_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the patch would grow the checked-out tree by ", growth.bytes >> 20, " MiB, more than --max-patch-expanded-mb ",
        limits.max_growth_bytes >> 20, " (every path counts, links and copies included)"));
  }
  if (limits.max_added_files > 0 && growth.files > limits.max_added_files) {
    return absl::ResourceExhaustedError(absl::StrCat("the patch adds ", growth.files,
                                                     " files, more than --max-patch-files ", limits.max_added_files));
  }
  return absl::OkStatus();
}

absl::Status CheckPatchGrowth(const Git& git, const std::vector<PatchEntry>& entries, const PatchLimits& limits,
                              const std::string* verified_diff) {
  if (verified_diff != nullptr && verified_diff->find("GIT binary patch") == std::string::npos &&
      (limits.max_growth_bytes == 0 || verified_diff->size() <= limits.max_growth_bytes)) {
    PatchGrowth files_only;
    files_only.files = AddedFiles(entries);
    return CheckPatchGrowth(files_only, limits);
  }
  absl::StatusOr<PatchGrowth> growth = MeasurePatchGrowth(git, entries);
  if (!growth.ok()) return growth.status();
  return CheckPatchGrowth(*growth, limits);
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
