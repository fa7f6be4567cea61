#include "orchestrator/plan/shard_planner.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "git/patch_entries.h"
#include "base/terminal_text.h"
#include "base/utf8.h"

namespace swarm {

std::vector<std::vector<std::string>> SplitEvenly(const std::vector<std::string>& files, int parts) {
  std::vector<std::vector<std::string>> chunks;
  if (parts <= 0) return chunks;
  std::size_t n = files.size(), k = static_cast<std::size_t>(parts), at = 0;
  for (std::size_t i = 0; i < k; ++i) {
    std::size_t size = n / k + (i < n % k ? 1 : 0);
    chunks.emplace_back(files.begin() + at, files.begin() + at + size);
    at += size;
  }
  return chunks;
}

absl::Status CheckShardGlob(const std::string& glob) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--shard '", TerminalSafe(glob), "': ", why));
  };
  if (glob.empty()) return bad("give a non-empty glob");
  for (unsigned char c : glob) {
    if (c < 0x20 || c == 0x7f) return bad("the glob holds a control character");
  }
  if (glob[0] == '/') return bad("the glob must be relative to the repository's root, not absolute");
  // git would read ":(top)x", ":/x" or ":!x" as pathspec magic, not as a glob.
  if (glob[0] == ':') return bad("pathspec magic (a leading ':') is not supported; give a plain glob");
  for (absl::string_view part : absl::StrSplit(glob, '/')) {
    if (part == "..") return bad("the glob must stay inside the repository (no \"..\" components)");
    if (HasGitComponent(part)) return bad("the glob names .git, git's own directory");
  }
  return absl::OkStatus();
}

absl::StatusOr<Plan> MakeShardPlan(const Git& repo, const std::string& base, const ShardOptions& options,
                                   std::vector<std::string>* warnings) {
  if (options.parts <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--parts must be a positive number of shards, not ", options.parts));
  }
  if (options.glob.empty()) return absl::InvalidArgumentError("--shard needs a non-empty glob");
  if (absl::Status st = CheckShardGlob(options.glob); !st.ok()) return st;
  TempIndex index;
  GitOptions opts;
  opts.index_file = index.path();
  if (auto r = repo.Run({"read-tree", base}, opts); !r.ok()) return r.status();
  absl::StatusOr<std::string> listed = repo.Run({"ls-files", "-s", "-z", "--", options.glob}, opts);
  if (!listed.ok()) return listed.status();
  std::vector<std::string> files;
  for (absl::string_view entry : absl::StrSplit(*listed, '\0', absl::SkipEmpty())) {
    // "mode sha stage\tpath"
    auto tab = entry.find('\t');
    if (tab == absl::string_view::npos) continue;
    std::string path(entry.substr(tab + 1));
    if (!IsUtf8(path)) {
      return absl::InvalidArgumentError(absl::StrCat("--shard '", options.glob, "' matches a file whose name is not UTF-8 (",
                                                     absl::CHexEscape(path), "): rename it or narrow the glob"));
    }
    if (entry.substr(0, 6) == "160000") {
      return absl::InvalidArgumentError(absl::StrCat("--shard '", options.glob, "' matches the submodule ", path,
                                                     ": swarm cannot edit submodules"));
    }
    files.push_back(std::move(path));
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--shard '", options.glob, "' matches no tracked file at ", base.substr(0, 12)));
  }
  // Files kept in Git LFS are pointers in the tree: a codemod would edit the pointer, not the file.
  std::string paths;
  for (const auto& f : files) paths += f + '\0';
  opts.stdin_data = paths;
  absl::StatusOr<std::string> attrs = repo.Run({"check-attr", "--cached", "-z", "--stdin", "filter"}, opts);
  if (!attrs.ok()) return attrs.status();
  std::vector<std::string> fields = absl::StrSplit(*attrs, '\0');
  for (std::size_t i = 0; i + 2 < fields.size(); i += 3) {
    if (fields[i + 2] == "lfs") {
      return absl::InvalidArgumentError(absl::StrCat("--shard '", options.glob, "' matches ", fields[i],
                                                     ", which is stored in Git LFS: swarm cannot edit LFS files"));
    }
  }
  std::sort(files.begin(), files.end());  // bytewise
  int parts = options.parts;
  if (static_cast<std::size_t>(parts) > files.size()) {
    if (warnings != nullptr) {
      warnings->push_back(absl::StrCat("--parts ", parts, " exceeds the ", files.size(),
                                       " matching files: using one shard per file"));
    }
    parts = static_cast<int>(files.size());
  }
  Plan plan;
  int width = static_cast<int>(std::to_string(parts).size());
  auto chunks = SplitEvenly(files, parts);
  for (int i = 0; i < parts; ++i) {
    v1::Subtask s;
    s.set_id(absl::StrFormat("shard-%0*d", width, i + 1));
    s.set_title(absl::StrFormat("%s shard %d of %d", options.glob, i + 1, parts));
    s.set_instructions(absl::StrCat("Apply the codemod to the ", chunks[i].size(), " files of this shard."));
    for (const auto& f : chunks[i]) s.add_files(f);
    if (!options.independent) s.set_group(kShardGroup);
    plan.subtasks.push_back(std::move(s));
  }
  if (!options.independent) plan.groups[kShardGroup] = GroupSpec{};
  return plan;
}

}  // namespace swarm
