#include "git/git.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace swarm {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> GitEnvironment(const GitOptions& opts) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    // The caller's GIT_DIR, GIT_INDEX_FILE and friends must not redirect swarm's plumbing.
    if (strncmp(*e, "GIT_", 4) == 0) continue;
    env.emplace_back(*e);
  }
  for (const char* kv : {"GIT_OPTIONAL_LOCKS=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
                         "GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=swarm",
                         "GIT_AUTHOR_EMAIL=swarm@localhost", "GIT_COMMITTER_NAME=swarm",
                         "GIT_COMMITTER_EMAIL=swarm@localhost", "LC_ALL=C"}) {
    env.emplace_back(kv);
  }
  if (!opts.index_file.empty()) env.push_back("GIT_INDEX_FILE=" + opts.index_file);
  // The caller's own settings replace these (the first of two entries would win in getenv).
  for (const std::string& kv : opts.env) {
    const std::string name = kv.substr(0, kv.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });
    env.push_back(kv);
  }
  return env;
}

}  // namespace

TempIndex::TempIndex(const std::string& dir) {
  static std::atomic<unsigned> counter{0};
  path_ = absl::StrCat(dir, "/swarm-", getpid(), "-", counter++, ".index");
  unlink(path_.c_str());
}

TempIndex::~TempIndex() { unlink(path_.c_str()); }

std::string TrimNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

Git Git::AtGitDir(std::string git_dir, std::string work_tree) {
  return Git(std::move(git_dir), std::move(work_tree));
}

absl::StatusOr<Git> Git::Open(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a directory"));
  }
  ProcessSpec spec;
  spec.argv = {"git", "-C", path, "rev-parse", "--absolute-git-dir",
               "--git-common-dir", "--is-bare-repository"};
  spec.env = GitEnvironment({});
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  if (!r.ok()) return r.status();
  std::vector<std::string> lines = absl::StrSplit(TrimNewline(r->out), '\n');
  if (!r->ok() || lines.size() != 3) {
    if (r->err.find("dubious ownership") != std::string::npos) {
      return absl::PermissionDeniedError(absl::StrCat(path, " is owned by another user; git refuses it (see git's safe.directory)"));
    }
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a git repository"));
  }
  std::string common = lines[1];
  if (!fs::path(common).is_absolute()) common = fs::weakly_canonical(fs::path(path) / common).string();
  std::string work_tree;
  if (lines[2] != "true") {
    spec.argv = {"git", "-C", path, "rev-parse", "--show-toplevel"};
    r = RunProcess(spec);
    if (!r.ok()) return r.status();
    if (!r->ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", TrimNewline(r->err)));
    work_tree = TrimNewline(r->out);
  }
  Git git(lines[0], work_tree);
  git.common_dir_ = common;
  git.trusted_ = false;
  return git;
}

absl::StatusOr<ProcessResult> Git::RunRaw(const std::vector<std::string>& args,
                                          const GitOptions& opts) const {
  ProcessSpec spec;
  spec.argv = {"git",
               "-c", "core.hooksPath=/dev/null",
               "-c", "gc.auto=0",
               "-c", "maintenance.auto=false",
               "-c", "core.fsmonitor=false",
               "-c", "commit.gpgSign=false"};
  // Only swarm's own repositories skip git's ownership check; the user's keeps it.
  if (trusted_) spec.argv.insert(spec.argv.end(), {"-c", "safe.directory=*"});
  for (const auto& c : opts.config) spec.argv.insert(spec.argv.end(), {"-c", c});
  spec.argv.push_back("--git-dir=" + git_dir_);
  std::string work_tree = opts.work_tree.empty() ? work_tree_ : opts.work_tree;
  if (!work_tree.empty()) spec.argv.push_back("--work-tree=" + work_tree);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  if (!work_tree.empty()) spec.cwd = work_tree;
  spec.env = GitEnvironment(opts);
  spec.stdin_data = opts.stdin_data;
  spec.output_cap = opts.output_cap > 0 ? opts.output_cap : (1ull << 31);
  if (opts.memory_limit_bytes > 0) spec.rlimits.push_back({RLIMIT_AS, opts.memory_limit_bytes});
  return RunProcess(std::move(spec));
}

absl::StatusOr<std::string> Git::Run(const std::vector<std::string>& args, const GitOptions& opts) const {
  absl::StatusOr<ProcessResult> r = RunRaw(args, opts);
  if (!r.ok()) return r.status();
  if (r->output_truncated) {
    return absl::ResourceExhaustedError(absl::StrCat("git ", args.empty() ? "" : args[0], " printed more than ",
                                                     opts.output_cap > 0 ? opts.output_cap : (1ull << 31), " bytes"));
  }
  if (!r->ok()) {
    std::string cmd = args.empty() ? "" : args[0];
    return absl::InternalError(absl::StrCat("git ", cmd, " failed (", r->Describe(), "): ",
                                            TrimNewline(r->err)));
  }
  return std::move(r->out);
}

absl::StatusOr<std::string> Git::ResolveCommit(const std::string& rev) const {
  absl::StatusOr<ProcessResult> r = RunRaw({"rev-parse", "--verify", "--quiet", "--end-of-options",
                                            rev + "^{commit}"});
  if (!r.ok()) return r.status();
  if (!r->ok()) return absl::NotFoundError(absl::StrCat("'", rev, "' does not name a commit"));
  return TrimNewline(r->out);
}

std::string Git::ObjectDir() const { return (common_dir_.empty() ? git_dir_ : common_dir_) + "/objects"; }

absl::Status CloneAt(const std::string& source_git_dir, const std::string& commit, const std::string& dir) {
  Git source = Git::AtGitDir(source_git_dir);
  if (auto r = source.Run({"clone", "--quiet", "--shared", "--no-checkout", source_git_dir, dir}); !r.ok()) {
    return r.status();
  }
  Git work = Git::AtGitDir(dir + "/.git", dir);
  if (auto r = work.Run({"checkout", "--quiet", "--detach", commit}); !r.ok()) return r.status();
  return absl::OkStatus();
}

bool IsAttributesFile(absl::string_view path) {
  return path == ".gitattributes" || absl::EndsWith(path, "/.gitattributes");
}

}  // namespace swarm
