// A fleet of LLM agents behind a provider that fails a fifth of its calls: 429 storms with and
// without Retry-After, 500s, stalls past the time-out, replies cut off mid-stream, bodies that are not
// JSON, tool arguments that are not JSON. The real swarm binary, hosts and sandbox, the scripted model
// server standing in for the provider. Every subtask lands or fails with its reason, the run stays
// within its budget, and the report counts each kind of fault.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

using nlohmann::json;

json Call(const std::string& name, json arguments) { return {{"name", name}, {"arguments", std::move(arguments)}}; }

TEST(ModelFaultsTest, AHundredAgentsThroughAFaultyProviderLandEveryPatchAndTheReportCountsEachFault) {
  constexpr int kAgents = 100;
  TempDir dir;
  const std::string repo = dir / "repo";
  InitRepo(repo);
  for (int i = 0; i < kAgents; ++i) WriteFile(repo + "/f" + std::to_string(i) + ".txt", "file " + std::to_string(i) + "\n");
  // Stalls are given up on after 4 s (the default is 10 minutes); a repository may say so for a
  // provider that needs no key.
  WriteFile(repo + "/.swarm/models.toml", "[providers.scripted]\ntimeout_s = 4\nretry_base_ms = 50\n");
  CommitAll(repo, "base");

  // One fault in each of four conversations out of five, first: a call in five is faulted.
  const std::vector<std::pair<std::string, json>> kinds = {
      {"rate_limited", {{"fault", "rate_limit"}, {"retry_after", 1}}},
      {"rate_limited", {{"fault", "rate_limit"}}},
      {"server_error", {{"fault", "server_error"}}},
      {"timeout", {{"fault", "stall"}}},
      {"cut_off", {{"fault", "truncate"}, {"content", "a reply long enough to be cut in half, then more"}}},
      {"not_json", {{"fault", "not_json"}}},
      {"malformed_tool_args",
       {{"fault", "malformed_tool_args"}, {"tool_calls", {Call("read_file", {{"path", "f0.txt"}})}}}},
  };
  std::map<std::string, int> want;
  json conversations = json::object(), subtasks = json::array();
  for (int i = 0, faulted = 0; i < kAgents; ++i) {
    const std::string id = "t" + std::to_string(i), file = "f" + std::to_string(i) + ".txt";
    json steps = json::array();
    if (i % 5 != 4) {
      const auto& [kind, step] = kinds[faulted++ % kinds.size()];
      steps.push_back(step);
      ++want[kind];
    }
    steps.push_back({{"tool_calls", {Call("read_file", {{"path", file}})}}, {"delay_ms", 200}});
    steps.push_back({{"tool_calls", {Call("edit", {{"path", file}, {"old", "file " + std::to_string(i) + "\n"},
                                                   {"new", "file " + std::to_string(i) + "\ny\n"}})}},
                     {"delay_ms", 200}});
    steps.push_back({{"tool_calls", {Call("submit", {{"summary", "done"}})}}});
    conversations[id] = steps;
    subtasks.push_back({{"id", id}, {"title", "Change " + file}, {"instructions", "Add a line."}, {"files", {file}}});
  }
  WriteFile(dir / "script.json", json{{"conversations", conversations}}.dump());
  WriteFile(dir / "plan.json", json{{"subtasks", subtasks}}.dump());

  CliResult r = RunSwarm({"run", "--repo", repo, "--state-dir", dir / "state", "--plan", dir / "plan.json", "--model",
                          "scripted:" + dir / "script.json", "--agents", std::to_string(kAgents), "--budget-usd", "2",
                          "--test-cmd", "true"});
  const json report = OnlyReport(dir / "state");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  int landed = 0;
  for (const auto& s : report["subtasks"]) {
    if (s["outcome"] == "landed") {
      ++landed;
    } else {
      EXPECT_FALSE(s.value("reason", "").empty()) << "a subtask failed without its reason: " << s.dump();
    }
  }
  EXPECT_EQ(landed, kAgents) << r.out;
  EXPECT_LE(report["model"]["cost_usd"].get<double>(), 2.0);
  // Each fault the server was scripted to make, counted once, by kind.
  std::map<std::string, int> got;
  for (const auto& [kind, n] : report["model"]["faults"].items()) got[kind] = n.get<int>();
  // A reply slowed past the time-out on a loaded machine would add a time-out of its own (and take
  // the next scripted step): at least the scripted ones there, exactly the scripted ones elsewhere.
  EXPECT_GE(got["timeout"], want["timeout"]) << report["model"].dump(2);
  got.erase("timeout");
  want.erase("timeout");
  EXPECT_EQ(got, want) << report["model"].dump(2);
  EXPECT_NE(r.out.find("model faults: "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace swarm::testing
