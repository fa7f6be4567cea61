#include "git/integration_repo.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/utf8.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

}  // namespace

absl::StatusOr<std::unique_ptr<IntegrationRepo>> IntegrationRepo::Create(const Git& user, const std::string& git_dir,
                                                                          const std::string& base, CommitAuthor author) {
  std::error_code ec;
  if (fs::exists(git_dir, ec)) return absl::AlreadyExistsError(absl::StrCat(git_dir, " exists"));
  Git bootstrap = Git::AtGitDir(git_dir);
  // swarm's files are private (umask 077), but the objects are what every workspace's git reads: as
  // root, that git runs as the sandbox user (docs/SECURITY.md). The state directory around them stays
  // private; sandboxes see the objects through a bind.
  if (auto r = bootstrap.Run({"init", "--quiet", "--bare", "--shared=0644", git_dir}); !r.ok()) return r.status();
  std::string objects = fs::weakly_canonical(user.ObjectDir()).string();
  {
    std::ofstream alt(git_dir + "/objects/info/alternates");
    alt << objects << "\n";
    alt.close();
    if (!alt) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot write ", git_dir, "/objects/info/alternates: ", std::strerror(errno)));
    }
  }
  // Read by every workspace's git, which may be the sandbox user's (umask 077 made it 0600).
  fs::permissions(git_dir + "/objects/info/alternates", fs::perms(0644), ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot make ", git_dir, " readable: ", ec.message()));
  Git git = Git::AtGitDir(fs::canonical(git_dir).string());
  if (auto r = git.Run({"symbolic-ref", "HEAD", kIntegrationRef}); !r.ok()) return r.status();
  if (auto r = git.Run({"update-ref", kIntegrationRef, base, ""}); !r.ok()) return r.status();
  return std::unique_ptr<IntegrationRepo>(new IntegrationRepo(std::move(git), std::move(author)));
}

absl::StatusOr<std::unique_ptr<IntegrationRepo>> IntegrationRepo::Open(const std::string& git_dir, CommitAuthor author) {
  std::error_code ec;
  if (!fs::exists(git_dir + "/objects", ec)) return absl::NotFoundError(absl::StrCat("no repository at ", git_dir));
  return std::unique_ptr<IntegrationRepo>(
      new IntegrationRepo(Git::AtGitDir(fs::canonical(git_dir).string()), std::move(author)));
}

int IntegrationRepo::RemoveStaleLocks(const std::string& git_dir) {
  int removed = 0;
  std::error_code ec;
  auto remove_if_lock = [&](const fs::path& p) {
    if (p.extension() == ".lock" && fs::is_regular_file(fs::symlink_status(p, ec)) && fs::remove(p, ec)) ++removed;
  };
  for (const auto& entry : fs::directory_iterator(git_dir, ec)) remove_if_lock(entry.path());
  for (const char* dir : {"refs", "objects/info"}) {
    for (auto it = fs::recursive_directory_iterator(fs::path(git_dir) / dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      remove_if_lock(it->path());
    }
  }
  return removed;
}

std::string LaneRef(const std::string& lane) {
  return lane.empty() ? std::string(kIntegrationRef) : absl::StrCat("refs/heads/lanes/", lane);
}

absl::StatusOr<std::string> IntegrationRepo::Head(const std::string& ref) const { return git_.ResolveCommit(ref); }

absl::Status IntegrationRepo::CreateRefIfAbsent(const std::string& ref, const std::string& commit) const {
  if (git_.ResolveCommit(ref).ok()) return absl::OkStatus();
  // The empty old value: created only if absent, so two callers cannot both create it.
  absl::StatusOr<std::string> r = git_.Run({"update-ref", ref, commit, ""});
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<std::string> IntegrationRepo::CommitPatch(const std::string& base, const std::string& diff,
                                                         const std::string& expected_tree,
                                                         const std::string& message) const {
  TempIndex index(git_.git_dir());
  GitOptions opts;
  opts.index_file = index.path();
  if (auto r = git_.Run({"read-tree", base}, opts); !r.ok()) return r.status();
  opts.stdin_data = diff;
  // A binary patch declares the size of each file it writes, and git allocates it: a hostile 64 MB
  // patch could ask for tens of gigabytes. Bounded, with pack windows small enough to fit under it.
  opts.memory_limit_bytes = 4ull << 30;
  opts.config = {"core.packedGitLimit=1g", "core.packedGitWindowSize=64m", "core.bigFileThreshold=64m"};
  absl::StatusOr<ProcessResult> applied = git_.RunRaw({"apply", "--cached", "--binary", "--whitespace=nowarn", "-"}, opts);
  if (!applied.ok()) return applied.status();
  if (!applied->ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the patch does not apply to its base ", base.substr(0, 12), ": ",
                                                   TrimNewline(applied->err)));
  }
  opts.stdin_data.clear();
  opts.memory_limit_bytes = 0;
  opts.config.clear();
  absl::StatusOr<std::string> tree = git_.Run({"write-tree"}, opts);
  if (!tree.ok()) return tree.status();
  if (TrimNewline(*tree) != expected_tree) {
    return absl::InvalidArgumentError(absl::StrCat("the patch produces tree ", TrimNewline(*tree).substr(0, 12),
                                                   ", not the tree ", expected_tree.substr(0, 12), " the agent reported"));
  }
  return CommitTree(expected_tree, base, message);
}

absl::StatusOr<std::string> IntegrationRepo::ConflictJson(const std::string& onto,
                                                         const std::string& patch_commit) const {
  // The tree git wrote (conflicted files with their markers) and the paths, NUL-separated so that any
  // path survives; then git's messages, which say what kind of conflict each path has.
  absl::StatusOr<ProcessResult> r =
      git_.RunRaw({"merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", onto, patch_commit});
  if (!r.ok()) return r.status();
  if (r->exit_code != 1) return absl::FailedPreconditionError("the patch does not conflict");
  std::vector<std::string> fields = absl::StrSplit(r->out, '\0', absl::SkipEmpty());
  absl::StatusOr<ProcessResult> m = git_.RunRaw({"merge-tree", "--write-tree", "--messages", onto, patch_commit});
  std::vector<std::string> messages;
  if (m.ok()) {
    for (absl::string_view line : absl::StrSplit(m->out, '\n', absl::SkipEmpty())) {
      if (absl::StartsWith(line, "CONFLICT (")) messages.emplace_back(line);
    }
  }
  nlohmann::json doc = {{"head", onto}, {"files", nlohmann::json::array()}};
  for (std::size_t i = 1; i < fields.size(); ++i) {
    const std::string& path = fields[i];
    nlohmann::json file = {{"path", ToUtf8(path)}};
    // "CONFLICT (content): Merge conflict in P", "CONFLICT (modify/delete): P deleted in ...", ...
    for (const auto& msg : messages) {
      if (msg.find(path) == std::string::npos) continue;
      file["kind"] = msg.substr(10, msg.find(')') - 10);
      file["message"] = ToUtf8(msg);
      break;
    }
    absl::StatusOr<std::string> content = git_.Run({"cat-file", "blob", fields[0] + ":" + path});
    if (!content.ok()) {
      file["content"] = nullptr;  // not in the merged tree (deleted on one side)
    } else if (content->find('\0') != std::string::npos) {
      file["binary"] = true;  // no markers to show; both versions are in the repository
    } else {
      std::string text = *content;
      if (text.size() > (64u << 10)) text = text.substr(0, 64u << 10) + "\n[swarm: cut at 64 KiB]\n";
      file["content"] = ToUtf8(text);
    }
    doc["files"].push_back(std::move(file));
  }
  return doc.dump(2);
}

absl::StatusOr<std::string> IntegrationRepo::MergeTree(const std::string& onto, const std::string& patch_commit) const {
  absl::StatusOr<ProcessResult> r =
      git_.RunRaw({"merge-tree", "--write-tree", "--name-only", "--messages", onto, patch_commit});
  if (!r.ok()) return r.status();
  std::vector<std::string> lines = absl::StrSplit(TrimNewline(r->out), '\n');
  if (r->exit_code == 0 && !lines.empty()) return lines[0];
  if (r->exit_code == 1) {
    // The tree, the conflicted paths, a blank line, then git's messages.
    std::vector<std::string> files;
    std::string messages;
    bool in_messages = false;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      if (lines[i].empty()) {
        in_messages = true;
      } else if (in_messages) {
        absl::StrAppend(&messages, lines[i], "\n");
      } else {
        files.push_back(lines[i]);
      }
    }
    return absl::AbortedError(absl::StrCat("conflict in ", absl::StrJoin(files, ", "), "\n", messages));
  }
  return absl::InternalError(absl::StrCat("git merge-tree failed (", r->Describe(), "): ", TrimNewline(r->err)));
}

absl::StatusOr<std::string> IntegrationRepo::CommitTree(const std::string& tree, const std::string& parent,
                                                        const std::string& message) const {
  GitOptions opts;
  opts.stdin_data = message;
  opts.env = {"GIT_AUTHOR_NAME=" + author_.name, "GIT_AUTHOR_EMAIL=" + author_.email};
  absl::StatusOr<std::string> commit = git_.Run({"commit-tree", tree, "-p", parent}, opts);
  if (!commit.ok()) return commit.status();
  return TrimNewline(*commit);
}

bool PathMatches(const std::string& glob, const std::string& path) {
  if (glob.find('/') == std::string::npos) {
    const std::string name = path.substr(path.rfind('/') + 1);
    return fnmatch(glob.c_str(), name.c_str(), 0) == 0;
  }
  return fnmatch(glob.c_str(), path.c_str(), 0) == 0;
}

absl::StatusOr<std::string> IntegrationRepo::TreeWithChangesTo(const std::string& base, const std::string& commit,
                                                               const std::vector<std::string>& globs,
                                                               std::vector<std::string>* paths) const {
  // ":OLDMODE NEWMODE OLDSHA NEWSHA STATUS\0PATH\0" for each changed file, renames as delete + add.
  absl::StatusOr<std::string> diff = git_.Run({"diff-tree", "-r", "-z", "--no-renames", base, commit});
  if (!diff.ok()) return diff.status();
  std::string index_info;
  int matched = 0;
  const std::string& d = *diff;
  for (std::size_t at = 0; at < d.size();) {
    const std::size_t meta_end = d.find('\0', at);
    if (meta_end == std::string::npos) break;
    const std::size_t path_end = d.find('\0', meta_end + 1);
    if (path_end == std::string::npos) break;
    const std::vector<std::string> meta = absl::StrSplit(d.substr(at, meta_end - at), ' ');
    const std::string path = d.substr(meta_end + 1, path_end - meta_end - 1);
    at = path_end + 1;
    if (meta.size() < 5) continue;
    if (std::none_of(globs.begin(), globs.end(), [&](const std::string& g) { return PathMatches(g, path); })) continue;
    ++matched;
    if (paths != nullptr) paths->push_back(path);
    // A deleted file has mode 000000: update-index removes it.
    absl::StrAppend(&index_info, meta[1], " ", meta[3], "\t", path, std::string(1, '\0'));
  }
  if (matched == 0) return absl::NotFoundError("the patch changes no file that matches the test globs");
  TempIndex index(git_.git_dir());
  GitOptions opts;
  opts.index_file = index.path();
  if (auto r = git_.Run({"read-tree", base}, opts); !r.ok()) return r.status();
  opts.stdin_data = index_info;
  if (auto r = git_.Run({"update-index", "-z", "--index-info"}, opts); !r.ok()) return r.status();
  opts.stdin_data.clear();
  absl::StatusOr<std::string> tree = git_.Run({"write-tree"}, opts);
  if (!tree.ok()) return tree.status();
  return TrimNewline(*tree);
}

absl::Status IntegrationRepo::CompareAndSwap(const std::string& commit, const std::string& expected_old,
                                             const std::string& ref) const {
  absl::StatusOr<ProcessResult> r = git_.RunRaw({"update-ref", ref, commit, expected_old});
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    return absl::AbortedError(absl::StrCat("the integration head moved: ", TrimNewline(r->err)));
  }
  return absl::OkStatus();
}

absl::Status IntegrationRepo::Materialize(const std::string& tree, const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  TempIndex index(git_.git_dir());
  GitOptions opts;
  opts.index_file = index.path();
  opts.work_tree = dir;
  if (auto r = git_.Run({"read-tree", tree}, opts); !r.ok()) return r.status();
  if (auto r = git_.Run({"checkout-index", "--all", "--force"}, opts); !r.ok()) return r.status();
  return absl::OkStatus();
}

absl::Status IntegrationRepo::Publish(const Git& user, const std::string& branch, bool move_forward,
                                      const std::string& base, const std::string& ref, bool replace) const {
  // An existing branch (a resumed run publishing again) may only move forward, and only if this run
  // made it: its tip is one of the run's landings.
  absl::StatusOr<std::string> existing = user.ResolveCommit(branch);
  absl::StatusOr<std::string> head = Head(ref);
  if (!head.ok()) return head.status();
  const bool ours = existing.ok() && move_forward && *existing != base &&
                    git_.Run({"merge-base", "--is-ancestor", *existing, *head}).ok() &&
                    (base.empty() || git_.Run({"merge-base", "--is-ancestor", base, *existing}).ok());
  if (existing.ok() && !ours && !replace) {
    return absl::AlreadyExistsError(absl::StrCat(branch, " already exists in the repository"));
  }
  // A bare git dir without a work tree: fetch writes objects and the one ref, nothing else.
  Git target = Git::AtGitDir(user.git_dir());
  absl::StatusOr<std::string> r =
      target.Run({"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", git_.git_dir(),
                  absl::StrCat(replace ? "+" : "", ref, ":", branch)});
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

}  // namespace swarm
