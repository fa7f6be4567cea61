#include "orchestrator/run/run_config.h"

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "base/terminal_text.h"

namespace swarm {
namespace {

constexpr std::uint32_t kSpecVersion = 2;

// An older spec (no presence) wrote every setting; the wire dropped those at 0. A number read back
// absent was 0 then, except where 0 was out of range (settings added later): those take the default.
template <typename T>
T OlderAbsent(T value, long long lowest) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (lowest > 0) return value;
    return T{};
  } else {
    return value;  // text: the default ("HEAD", "exit"); a switch: false, its default
  }
}

}  // namespace

std::string ResultBranch(const RunConfig& config, const std::string& run_id) {
  return config.branch.empty() ? "swarm/" + run_id : config.branch;
}

absl::StatusOr<CommitAuthor> ParseAuthor(const std::string& author, bool signoff) {
  CommitAuthor out;
  out.signoff = signoff;
  if (author.empty()) return out;
  auto open = author.find('<');
  std::string name = open == std::string::npos ? "" : author.substr(0, open);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  std::string email = open == std::string::npos || author.back() != '>' ? "" : author.substr(open + 1, author.size() - open - 2);
  auto bad = [](const std::string& part) {
    return part.empty() || part.find_first_of("<>\n\r") != std::string::npos ||
           std::any_of(part.begin(), part.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  };
  // Git refuses a name of nothing but the characters it trims (".", ",", ";", quotes, spaces...).
  const bool only_trimmed = name.find_first_not_of(" .,:;<>\"\\'") == std::string::npos;
  if (bad(name) || bad(email) || only_trimmed || email.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("takes \"Name <email>\", as git writes an author, not \"", TerminalSafe(author), "\""));
  }
  out.name = name;
  out.email = email;
  return out;
}

v1::RunSpec ToSpec(const RunConfig& c) {
  v1::RunSpec s;
#define SWARM_TO_SPEC(type, name, value, flag, lowest, highest, help) s.set_##name(c.name);
  SWARM_RUN_SETTINGS(SWARM_TO_SPEC)
#undef SWARM_TO_SPEC
  for (const auto& e : c.sandbox_env) s.add_sandbox_env(e);
  for (const auto& b : c.sandbox_ro_binds) s.add_sandbox_ro_binds(b);
  for (const auto& g : c.allow_paths) s.add_allow_paths(g);
  for (const auto& f : c.agent_files) {
    v1::FileBind* bind = s.add_agent_files();
    bind->set_source(f.source);
    bind->set_dest(f.dest);
  }
  s.set_memory_bytes(c.limits.memory_bytes);
  s.set_max_processes(c.limits.max_processes);
  s.set_max_file_bytes(c.limits.max_file_bytes);
  if (c.backlog.issues_size() > 0) *s.mutable_backlog() = c.backlog;
  s.set_spec_version(kSpecVersion);
  return s;
}

namespace {

RunConfig Read(const v1::RunSpec& s, bool older) {
  RunConfig c;
#define SWARM_FROM_SPEC(type, name, value, flag, lowest, highest, help) \
  if (s.has_##name()) {                                                 \
    c.name = s.name();                                                  \
  } else if (older) {                                                   \
    c.name = OlderAbsent<type>(c.name, lowest);                         \
  }
  SWARM_RUN_SETTINGS(SWARM_FROM_SPEC)
#undef SWARM_FROM_SPEC
  if (older && !s.has_max_fixups()) c.max_fixups = s.no_fixups() ? 0 : RunConfig{}.max_fixups;
  c.sandbox_env.assign(s.sandbox_env().begin(), s.sandbox_env().end());
  c.sandbox_ro_binds.assign(s.sandbox_ro_binds().begin(), s.sandbox_ro_binds().end());
  c.allow_paths.assign(s.allow_paths().begin(), s.allow_paths().end());
  for (const auto& f : s.agent_files()) c.agent_files.push_back(FileBind{f.source(), f.dest()});
  if (s.has_memory_bytes() || older) c.limits.memory_bytes = s.memory_bytes();
  if (s.has_max_processes() || older) c.limits.max_processes = s.max_processes();
  if (s.has_max_file_bytes() || older) c.limits.max_file_bytes = s.max_file_bytes();
  c.backlog = s.backlog();
  return c;
}

}  // namespace

RunConfig FromSpec(const v1::RunSpec& spec) { return Read(spec, /*older=*/false); }

RunConfig FromStoredSpec(const v1::RunSpec& spec) { return Read(spec, spec.spec_version() < kSpecVersion); }

}  // namespace swarm
