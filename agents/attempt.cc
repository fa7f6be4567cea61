#include "agents/attempt.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/failpoint.h"
#include "base/utf8.h"

namespace swarm {

absl::Status WriteAttemptMeta(const std::string& meta_dir, const v1::Lease& lease) {
  const v1::Subtask& s = lease.subtask();
  nlohmann::json j = {{"id", s.id()},
                      {"title", s.title()},
                      {"instructions", s.instructions()},
                      {"files", std::vector<std::string>(s.files().begin(), s.files().end())},
                      {"depends_on", std::vector<std::string>(s.depends_on().begin(), s.depends_on().end())},
                      {"group", s.group()},
                      {"attempt", lease.attempt()},
                      {"base", lease.base_commit()}};
  if (s.has_issue()) {  // a backlog's lane: the issue it works on
    const v1::Issue& issue = s.issue();
    j["issue"] = {{"id", issue.id()},
                  {"title", issue.title()},
                  {"body", issue.body()},
                  {"labels", std::vector<std::string>(issue.labels().begin(), issue.labels().end())},
                  {"url", issue.url()}};
  }
  std::error_code ec;
  std::filesystem::create_directories(meta_dir, ec);
  if (ec) return absl::ResourceExhaustedError(absl::StrCat("cannot make ", meta_dir, ": ", ec.message()));
  // Each file whole, or the attempt fails: a fix-up without its failure log would work blind.
  auto write = [&](const char* name, const std::string& text) -> absl::Status {
    const std::string path = absl::StrCat(meta_dir, "/", name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    return absl::OkStatus();
  };
  if (absl::Status st = write("subtask.json", j.dump(2)); !st.ok()) return st;
  if (!lease.conflict_json().empty()) {
    if (absl::Status st = write("conflict.json", lease.conflict_json()); !st.ok()) return st;
  }
  if (!lease.failure_json().empty()) {
    nlohmann::json failure = nlohmann::json::parse(lease.failure_json(), nullptr, false);
    if (failure.is_object()) {
      if (absl::Status st = write("failure.log", failure.value("log", "")); !st.ok()) return st;
      if (absl::Status st = write("failure.patch", failure.value("patch", "")); !st.ok()) return st;
      // Refused although it passed its tests (no failing test): why.
      if (failure.contains("refused")) {
        if (absl::Status st = write("failure.refused", failure.value("refused", "")); !st.ok()) return st;
      }
    }
  }
  return absl::OkStatus();
}

namespace {

// The agent command's files shown in its workspace are the user's, not the agent's work.
absl::Status IgnoreShownFiles(const v1::Registered& run, Workspace& workspace) {
  std::vector<std::string> inside;
  for (const auto& f : run.sandbox().agent_files()) {
    if (!f.dest().empty() && f.dest()[0] != '/') inside.push_back(f.dest());
  }
  return workspace.Ignore(inside);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Workspace>> MakeAttemptWorkspace(const Sandbox& sandbox, const v1::Registered& run,
                                                                const v1::Lease& lease, const std::string& dir,
                                                                const HostWorkspaces& where) {
  Delaypoint("workspace");
  const v1::AgentSpec& agent = run.agent();
  WorkspaceLimits limits;
  limits.max_growth = TreeUsage{agent.max_workspace_growth_bytes(), agent.max_workspace_growth_files()};
  limits.patch = PatchLimits{agent.max_patch_growth_bytes(), agent.max_patch_added_files()};
  limits.max_patch_bytes = agent.max_patch_bytes();
  if (BaseCheckouts* bases = where.bases.get(); bases != nullptr) {
    absl::StatusOr<std::shared_ptr<const BaseCheckouts::Checkout>> lower = bases->Acquire(lease.base_commit());
    if (!lower.ok()) return lower.status();
    // The shared checkout was handed over once when it was made; the layer is handed over empty.
    absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::CreateOverlay(
        run.integration_git_dir(), *std::move(lower), dir,
        [&sandbox](const std::string& path) { return sandbox.HandOver(path); }, limits, bases->mount_place());
    if (!ws.ok()) return ws;
    if (absl::Status st = IgnoreShownFiles(run, **ws); !st.ok()) return st;
    if (absl::Status st = WriteAttemptMeta(dir + "/meta", lease); !st.ok()) return st;
    if (absl::Status st = sandbox.HandOver(dir + "/meta"); !st.ok()) return st;
    return ws;
  }
  absl::StatusOr<std::unique_ptr<Workspace>> ws =
      Workspace::Create(run.integration_git_dir(), lease.base_commit(), dir, agent.keep_workspaces(), limits,
                        where.mount_place);
  if (!ws.ok()) return ws;
  if (absl::Status st = IgnoreShownFiles(run, **ws); !st.ok()) return st;
  if (absl::Status st = WriteAttemptMeta(dir + "/meta", lease); !st.ok()) return st;
  if (absl::Status st = sandbox.HandOver((*ws)->root()); !st.ok()) return st;
  if (absl::Status st = sandbox.HandOver(dir + "/meta"); !st.ok()) return st;
  return ws;
}

SandboxPolicy AgentSandboxPolicy(const v1::Registered& run, const v1::Lease& lease, const Workspace& workspace,
                                 const std::string& meta_dir) {
  const v1::SandboxSpec& spec = run.sandbox();
  SandboxPolicy p;
  p.workdir = workspace.root();
  p.hidden_paths.assign(spec.hidden_paths().begin(), spec.hidden_paths().end());
  p.ro_binds.assign(spec.ro_binds().begin(), spec.ro_binds().end());
  // The workspace's own git reads the integration objects; the subtask file sits beside the tree.
  p.ro_binds.insert(p.ro_binds.end(), workspace.object_dirs().begin(), workspace.object_dirs().end());
  p.ro_binds.push_back(meta_dir);
  for (const auto& f : spec.agent_files()) p.file_binds.push_back(FileBind{f.source(), f.dest()});
  std::string home = spec.home().empty() ? "/tmp" : spec.home();
  p.env = {absl::StrCat("PATH=", kSandboxPath), "HOME=" + home, "LANG=C.UTF-8"};
  p.env.insert(p.env.end(), spec.env().begin(), spec.env().end());
  std::vector<std::string> files(lease.subtask().files().begin(), lease.subtask().files().end());
  p.env.push_back("SWARM_SUBTASK_ID=" + lease.subtask().id());
  p.env.push_back("SWARM_SUBTASK_JSON=" + meta_dir + "/subtask.json");
  if (!lease.conflict_json().empty()) p.env.push_back("SWARM_CONFLICT_JSON=" + meta_dir + "/conflict.json");
  if (!lease.failure_json().empty()) {
    p.env.push_back("SWARM_FAILURE_LOG=" + meta_dir + "/failure.log");
    p.env.push_back("SWARM_FAILURE_PATCH=" + meta_dir + "/failure.patch");
    if (nlohmann::json failure = nlohmann::json::parse(lease.failure_json(), nullptr, false);
        failure.is_object() && failure.contains("refused")) {
      p.env.push_back("SWARM_FAILURE_REFUSED=" + meta_dir + "/failure.refused");
    }
  }
  p.env.push_back("SWARM_FILES=" + absl::StrJoin(files, "\n"));
  p.env.push_back(absl::StrCat("SWARM_ATTEMPT=", lease.attempt()));
  p.env.push_back("SWARM_BASE=" + lease.base_commit());
  p.env.push_back("SWARM_SUMMARY=" + SummaryPath(workspace));
  p.network = spec.network();
  p.growth_cap = workspace.UncappedGrowth();
  p.limits = ResourceLimits{spec.memory_bytes(), spec.max_processes(), spec.max_file_bytes()};
  p.timeout = std::chrono::seconds(run.agent().timeout_s() > 0 ? run.agent().timeout_s() : 3600);
  p.output_cap = spec.output_cap_bytes() > 0 ? spec.output_cap_bytes() : (1 << 20);
  return p;
}

std::string SummaryPath(const Workspace& workspace) { return workspace.root() + "/.git/swarm-summary"; }

std::string ReadAgentSummary(const Workspace& workspace) {
  int root = open(workspace.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return "";
  int git = openat(root, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  close(root);
  if (git < 0) return "";
  int fd = openat(git, "swarm-summary", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close(git);
  if (fd < 0) return "";
  std::string text;
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    text.resize(kMaxSummaryBytes);
    ssize_t n = 0, total = 0;
    while (total < static_cast<ssize_t>(text.size()) &&
           (n = read(fd, text.data() + total, text.size() - static_cast<std::size_t>(total))) > 0) {
      total += n;
    }
    text.resize(static_cast<std::size_t>(total));
  }
  close(fd);
  return text;
}

v1::AttemptResult PatchResult(const Patch& patch) {
  v1::AttemptResult result;
  result.set_outcome(patch.empty ? v1::AttemptResult::NO_CHANGE : v1::AttemptResult::PATCH);
  result.set_base_commit(patch.base);
  result.set_tree(patch.tree);
  result.set_patch(patch.diff);
  return result;
}

std::string ToolCallAction(const v1::ToolCall& call) {
  std::string what;
  const nlohmann::json args = nlohmann::json::parse(call.arguments_json(), nullptr, /*allow_exceptions=*/false);
  if (args.is_object()) {
    for (const char* key : {"path", "command", "pattern", "summary"}) {
      if (auto it = args.find(key); it != args.end() && it->is_string()) {
        what = it->get<std::string>();
        break;
      }
    }
  }
  return OneLine(what.empty() ? call.name() : call.name() + ": " + what, kMaxActionBytes);
}

}  // namespace swarm
