// The built-in LLM agent end to end: the real swarm binary and agent hosts, the sandbox, and the
// scripted model standing in for the provider. The agent reads, edits, runs the tests on a copy of
// its workspace and submits; its patch lands. Malformed tool calls three times in a row end the
// subtask as repeated_format_errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/swarm_cli.h"
#include "tests/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json Call(const std::string& name, json arguments) { return {{"name", name}, {"arguments", std::move(arguments)}}; }

class LlmAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/greet.txt", "helo world\n");
    CommitAll(repo(), "initial");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }

  CliResult Run(const json& script, const std::string& plan, std::vector<std::string> extra = {}) {
    WriteFile(dir_ / "script.json", script.dump(2));
    WriteFile(dir_ / "plan.json", plan);
    std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                                     "--model", "scripted:" + dir_ / "script.json", "--budget-usd", "1",
                                     "--test-cmd", "grep -q world greet.txt"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSwarm(args);
  }

  TempDir dir_;
};

TEST_F(LlmAgentTest, ReadsEditsTestsAndSubmitsAndThePatchLands) {
  json steps = json::array({
      {{"content", "Let me look."}, {"tool_calls", {Call("read_file", {{"path", "greet.txt"}})}}},
      {{"expect", "helo world"}, {"tool_calls", {Call("edit", {{"path", "greet.txt"}, {"old", "helo"}, {"new", "hello"}})}}},
      {{"expect", "edited greet.txt at line 1"},
       {"tool_calls", {Call("run", {{"command", "echo scratch > scratch.txt; cat greet.txt"}})}}},
      {{"expect", "hello world"}, {"tool_calls", {Call("run_tests", json::object())}}},
      {{"expect", "exit 0"}, {"tool_calls", {Call("submit", {{"summary", "Fixed the typo."}})}}},
  });
  CliResult r = Run({{"conversations", {{"fix-typo", steps}}}},
                    R"({"subtasks": [{"id": "fix-typo", "title": "Fix the typo", "instructions": "helo -> hello",
                                      "files": ["greet.txt"]}]})");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = OnlyReport(state());
  EXPECT_EQ(Outcomes(report)["fix-typo"], "landed") << report.dump(2);
  const std::string branch = report["result_branch"];
  EXPECT_EQ(Sh("git -C " + repo() + " show " + branch + ":greet.txt"), "hello world\n");
  // What `run` wrote in the workspace is part of the change; what the tests ran on was a copy.
  EXPECT_EQ(Sh("git -C " + repo() + " show " + branch + ":scratch.txt"), "scratch\n");
  EXPECT_EQ(report["model"]["calls"], 5);
  // The prompt carried the subtask and the repository's files; the system prompt came first.
  CliResult transcript = RunSwarm({"show", report["run_id"], "--state-dir", state(), "--transcript", "fix-typo"});
  EXPECT_NE(transcript.out.find("helo -> hello"), std::string::npos);
  EXPECT_NE(transcript.out.find("greet.txt"), std::string::npos);
  EXPECT_NE(transcript.out.find("one of several software engineers"), std::string::npos);
}

TEST_F(LlmAgentTest, ThreeMalformedToolCallsInARowEndTheSubtask) {
  json steps = json::array({
      {{"tool_calls", {Call("delete_everything", json::object())}}},
      {{"expect", "there is no tool delete_everything"}, {"tool_calls", {Call("read_file", {{"path", 7}})}}},
      {{"expect", "must be a string"}, {"tool_calls", {Call("edit", {{"path", "greet.txt"}})}}},
  });
  CliResult r = Run({{"conversations", {{"t", steps}}}},
                    R"({"subtasks": [{"id": "t", "title": "t", "instructions": "t"}]})", {"--max-attempts", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json report = OnlyReport(state());
  EXPECT_EQ(Outcomes(report)["t"], "failed_agent");
  bool said = false;
  for (const auto& s : report["subtasks"]) said |= s["reason"].get<std::string>().find("repeated_format_errors") != std::string::npos;
  EXPECT_TRUE(said) << report.dump(2);
  EXPECT_EQ(UserVisibleState(repo()).find("delete"), std::string::npos);
}

}  // namespace
}  // namespace swarm::testing
