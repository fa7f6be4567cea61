#include "testing/swarm_cli.h"

#include <gtest/gtest.h>
#include <pwd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orchestrator/store/store.h"
#include "sandbox/process.h"
#include "testing/test_util.h"

extern char** environ;

namespace swarm::testing {
namespace fs = std::filesystem;

CliResult RunSwarmWith(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env) {
  ProcessSpec spec;
  spec.argv = prefix;
  spec.argv.push_back(BuildDir() + "/bin/swarm");
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& x : extra_env) overridden |= x.rfind(name + "=", 0) == 0;
    if (!overridden) env.push_back(kv);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  spec.env = env;
  spec.timeout = std::chrono::seconds(300);
  spec.output_cap = 16 << 20;
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  CliResult out;
  if (!r.ok()) {
    ADD_FAILURE() << "cannot run swarm: " << r.status();
    return out;
  }
  EXPECT_FALSE(r->timed_out) << "swarm did not finish in time\n" << r->out << r->err;
  out.exit_code = r->term_signal != 0 ? 128 + r->term_signal : r->exit_code;
  out.out = r->out;
  out.err = r->err;
  return out;
}

CliResult RunSwarm(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  return RunSwarmWith({}, args, extra_env);
}

CliResult RunSwarmAs(const ::passwd& user, const std::string& home, const std::vector<std::string>& args) {
  return RunSwarmWith({"setpriv", absl::StrCat("--reuid=", user.pw_uid), absl::StrCat("--regid=", user.pw_gid),
                       "--clear-groups", "--"},
                      args, {"HOME=" + home, "XDG_RUNTIME_DIR=", "USER=" + std::string(user.pw_name)});
}

nlohmann::json OnlyReport(const std::string& state_dir) {
  std::vector<fs::path> runs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(state_dir + "/runs", ec)) runs.push_back(entry.path());
  if (runs.size() != 1) {
    ADD_FAILURE() << "expected one run in " << state_dir << ", found " << runs.size();
    return {};
  }
  std::string text = ReadFile((runs[0] / "report.json").string());
  return nlohmann::json::parse(text, nullptr, false);
}

std::map<std::string, std::string> Outcomes(const nlohmann::json& report) {
  std::map<std::string, std::string> out;
  if (!report.contains("subtasks")) return out;
  for (const auto& s : report["subtasks"]) out[s["id"].get<std::string>()] = s["outcome"].get<std::string>();
  return out;
}

std::string UserVisibleState(const std::string& repo) {
  return Sh("cd " + repo + " && git rev-parse HEAD && git symbolic-ref -q HEAD; { git for-each-ref | grep -v refs/heads/swarm/ || true; }; "
            "sha256sum .git/index; find . -path ./.git -prune -o -type f -print0 | sort -z | "
            "xargs -0 sha256sum; find . -path ./.git -prune -o -printf '%M %p\\n' | sort");
}

// Waits (up to a minute) until the run's event log has an event for which `match` is true.
std::optional<v1::Event> WaitForEvent(const std::string& state, const std::function<bool(const v1::Event&)>& match) {
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!fs::exists(state + "/swarm.db")) continue;
    auto store = Store::Open(state + "/swarm.db");
    if (!store.ok()) continue;
    std::error_code ec;
    for (const auto& run : fs::directory_iterator(state + "/runs", ec)) {
      auto events = (*store)->Events(run.path().filename().string());
      if (!events.ok()) continue;
      for (const auto& e : *events) {
        if (match(e)) return e;
      }
    }
  }
  return std::nullopt;
}

int HostPidHoldingLease(const std::string& state, const std::string& subtask_id) {
  auto leased = WaitForEvent(state, [&](const v1::Event& e) {
    return e.has_subtask_leased() && e.subtask_leased().subtask_id() == subtask_id;
  });
  if (!leased) return 0;
  std::string host_id = leased->subtask_leased().host_id();
  auto registered = WaitForEvent(state, [&](const v1::Event& e) {
    return e.has_agent_registered() && e.agent_registered().host_id() == host_id;
  });
  return registered ? static_cast<int>(registered->agent_registered().pid()) : 0;
}

std::vector<v1::Event> OnlyRunEvents(const std::string& state) {
  auto store = Store::Open(state + "/swarm.db");
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return {};
  }
  auto runs = (*store)->Runs();
  if (!runs.ok() || runs->size() != 1) {
    ADD_FAILURE() << "expected exactly one run in " << state;
    return {};
  }
  auto events = (*store)->Events(runs->front().id);
  if (!events.ok()) ADD_FAILURE() << events.status();
  return events.ok() ? *events : std::vector<v1::Event>{};
}

std::map<std::string, int> Landings(const std::string& repo, const std::string& base, const std::string& branch) {
  std::map<std::string, int> count;
  std::string log = Sh("git -C " + repo + " log --first-parent '--format=%(trailers:key=swarm-subtask,valueonly)' " +
                       base + ".." + branch);
  for (absl::string_view id : absl::StrSplit(log, '\n', absl::SkipWhitespace())) ++count[std::string(id)];
  return count;
}

}  // namespace swarm::testing
