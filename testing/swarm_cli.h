// Runs the real swarm binary for end-to-end tests, and reads what a run left behind.
#ifndef SWARM_TESTING_SWARM_CLI_H_
#define SWARM_TESTING_SWARM_CLI_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/v1/events.pb.h"

struct passwd;

namespace swarm::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `swarm ARGS` from the build tree with a timeout of 300 s.
// RunSwarm with `prefix` run first (a wrapper that execs the rest: setpriv, unshare) and `extra_env`
// over this process's environment.
CliResult RunSwarmWith(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env);
CliResult RunSwarm(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {});

// The same as the unprivileged `user` (setpriv, no supplementary groups), with HOME at `home` and
// no XDG_RUNTIME_DIR (root's would not be the user's).
CliResult RunSwarmAs(const ::passwd& user, const std::string& home, const std::vector<std::string>& args);

// The report.json of the only run in `state_dir` (fails the test if there is not exactly one).
nlohmann::json OnlyReport(const std::string& state_dir);

// The outcome of each subtask in a report, by id.
std::map<std::string, std::string> Outcomes(const nlohmann::json& report);

// Waits (up to a minute) until a run's event log in `state_dir` has an event for which `match` is true.
std::optional<v1::Event> WaitForEvent(const std::string& state_dir, const std::function<bool(const v1::Event&)>& match);

// The pid of the agent host that took the first lease of `subtask_id` (waiting for it, up to a
// minute each for the lease and the host's registration); 0 if it never came.
int HostPidHoldingLease(const std::string& state_dir, const std::string& subtask_id);

// How often each subtask landed on `branch` of `repo` since `base`: the first-parent commits whose
// swarm-subtask trailers name it (a group's commit names each member).
std::map<std::string, int> Landings(const std::string& repo, const std::string& base, const std::string& branch);

// Every event of the only run in `state_dir`, read from its store.
std::vector<v1::Event> OnlyRunEvents(const std::string& state_dir);

// A snapshot of what the user can see of a repository: HEAD, every ref but swarm's result branches,
// the index file's bytes, and
// every file of the work tree (outside .git) with its mode and content.
std::string UserVisibleState(const std::string& repo);

}  // namespace swarm::testing

#endif  // SWARM_TESTING_SWARM_CLI_H_
