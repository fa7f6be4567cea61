// The built-in LLM agent end to end: the real swarm binary and agent hosts, the sandbox, and the
// scripted model standing in for the provider. The agent reads, edits, runs the tests on a copy of
// its workspace and submits; its patch lands. Malformed tool calls three times in a row end the
// subtask as repeated_format_errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/scripted/scripted_model_server.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

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
  // The commit's body is the agent's submit summary.
  EXPECT_EQ(Sh("git -C " + repo() + " log -1 --format=%b " + branch).rfind("Fixed the typo.\n\nswarm-run: ", 0), 0u)
      << Sh("git -C " + repo() + " log -1 --format=%B " + branch);
  EXPECT_EQ(report["model"]["calls"], 5);
  // The prompt carried the subtask and the repository's files; the system prompt came first.
  CliResult transcript = RunSwarm({"show", report["run_id"], "--state-dir", state(), "--transcript", "fix-typo"});
  EXPECT_NE(transcript.out.find("helo -> hello"), std::string::npos);
  EXPECT_NE(transcript.out.find("greet.txt"), std::string::npos);
  EXPECT_NE(transcript.out.find("one of several software engineers"), std::string::npos);
}

TEST_F(LlmAgentTest, AnAttemptStopsAtItsTokenLimit) {
  json read = {{"tool_calls", {Call("read_file", {{"path", "greet.txt"}})}}, {"usage", {{"input", 600}, {"output", 100}}}};
  CliResult r = Run({{"default", read}}, R"({"subtasks": [{"id": "t", "title": "t", "instructions": "t"}]})",
                    {"--max-attempts", "1", "--max-attempt-tokens", "2000"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json report = OnlyReport(state());
  EXPECT_NE(report["subtasks"][0]["reason"].get<std::string>().find("limit_reached: 2100 tokens used"), std::string::npos)
      << report.dump(2);
  EXPECT_EQ(report["model"]["calls"], 3);
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

std::vector<std::string> TestProvider(const TempDir& dir, const ScriptedModelServer& server, int context_window);

TEST_F(LlmAgentTest, ThePlannerSplitsATaskAndTheAgentsCarryItOut) {
  WriteFile(repo() + "/bye.txt", "godbye world\n");
  CommitAll(repo(), "bye");
  json plan = {{"subtasks",
                {{{"id", "fix-greet"}, {"title", "Fix greet.txt"}, {"instructions", "helo -> hello"}, {"files", {"greet.txt"}}},
                 {{"id", "fix-bye"}, {"title", "Fix bye.txt"}, {"instructions", "godbye -> goodbye"}, {"files", {"bye.txt"}}}}}};
  auto fix = [](const std::string& file, const std::string& from, const std::string& to) {
    return json::array({{{"tool_calls", {Call("edit", {{"path", file}, {"old", from}, {"new", to}})}}},
                        {{"expect", "edited " + file}, {"tool_calls", {Call("submit", {{"summary", "fixed"}})}}}});
  };
  json script = {{"conversations",
                  {{"planner", {{{"expect", "Fix the typos"}, {"tool_calls", {Call("submit_plan", plan)}}}}},
                   {"fix-greet", fix("greet.txt", "helo", "hello")},
                   {"fix-bye", fix("bye.txt", "godbye", "goodbye")}}}};
  WriteFile(dir_ / "script.json", script.dump(2));
  // --dry-run plans and shows the plan with an estimate, and starts nothing.
  CliResult dry = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--task", "Fix the typos in the text files",
                            "--model", "scripted:" + dir_ / "script.json", "--test-cmd", "true", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("fix-greet  Fix greet.txt"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("estimated cost of the run $"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(state() + "/runs"));

  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--task", "Fix the typos in the text files",
                          "--model", "scripted:" + dir_ / "script.json", "--test-cmd", "grep -q world greet.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = OnlyReport(state());
  auto outcomes = Outcomes(report);
  EXPECT_EQ(outcomes["fix-greet"], "landed");
  EXPECT_EQ(outcomes["fix-bye"], "landed");
  const std::string branch = report["result_branch"];
  EXPECT_EQ(Sh("git -C " + repo() + " show " + branch + ":bye.txt"), "goodbye world\n");
  EXPECT_EQ(report["model"]["calls"], 5) << "one planner call and two per agent";
  CliResult shown = RunSwarm({"show", report["run_id"], "--state-dir", state()});
  EXPECT_NE(shown.out.find("--transcript planner` shows its calls"), std::string::npos) << shown.out;
}

// --dry-run --task --save-plan FILE writes the plan for review; --plan FILE then runs exactly it, and
// the planner is not paid for again.
TEST_F(LlmAgentTest, ASavedPlanRunsAsItWasWrittenWithoutPlanningAgain) {
  json plan = {{"subtasks", json::array({{{"id", "fix-greet"}, {"title", "Fix greet.txt"}, {"instructions", "helo -> hello"}}})}};
  json script = {{"conversations",
                  {{"planner", {{{"tool_calls", {Call("submit_plan", plan)}}}}},
                   {"fix-greet", {{{"tool_calls", {Call("edit", {{"path", "greet.txt"}, {"old", "helo"}, {"new", "hello"}})}}},
                                  {{"tool_calls", {Call("submit", {{"summary", "fixed"}})}}}}}}}};
  WriteFile(dir_ / "script.json", script.dump(2));
  const std::string saved = dir_ / "reviewed-plan.json";
  std::vector<std::string> dry = {"run", "--repo", repo(), "--state-dir", state(), "--task", "Fix the typo",
                                  "--model", "scripted:" + dir_ / "script.json", "--test-cmd", "true", "--dry-run",
                                  "--save-plan", saved};
  CliResult planned = RunSwarm(dry);
  ASSERT_EQ(planned.exit_code, 0) << planned.err;
  EXPECT_NE(planned.out.find("run exactly it with --plan " + saved), std::string::npos) << planned.out;
  json written = json::parse(ReadFile(saved));
  EXPECT_EQ(written["subtasks"][0]["id"], "fix-greet") << written.dump(2);
  // Without --dry-run, --save-plan is refused: it would plan and then run at once.
  std::vector<std::string> wet(dry.begin(), dry.end() - 3);
  wet.insert(wet.end(), {"--save-plan", saved});
  CliResult refused = RunSwarm(wet);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("--save-plan goes with --dry-run"), std::string::npos) << refused.err;
  // The reviewer edits the plan; the run does what the file says. The planner's one step was spent
  // by the dry run: a second planner call would fail the run.
  written["subtasks"][0]["title"] = "Fix the greeting (reviewed)";
  WriteFile(saved, written.dump(2));
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", saved, "--model",
                          "scripted:" + dir_ / "script.json", "--test-cmd", "grep -q world greet.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = OnlyReport(state());
  EXPECT_EQ(report["subtasks"][0]["title"], "Fix the greeting (reviewed)");
  EXPECT_EQ(Sh("git -C " + repo() + " show " + report["result_branch"].get<std::string>() + ":greet.txt"), "hello world\n");
  EXPECT_EQ(report["model"]["calls"], 2) << "the agent's two calls, no planner's";
}

TEST_F(LlmAgentTest, APatchThatBreaksTheTestsOnTheHeadIsRepairedByAFixUpAndLands) {
  // Two changes that each pass alone and fail together: one renames greet to hello, the other adds a
  // use of greet. The second lands only after a debugging sub-agent redoes it on the new head.
  WriteFile(repo() + "/lib.sh", "greet() { echo hi; }\n");
  WriteFile(repo() + "/uses/one.sh", "greet >/dev/null\n");
  WriteFile(repo() + "/test.sh", "set -e\n. ./lib.sh\nfor f in uses/*.sh; do . \"./$f\"; done\necho ok\n");
  CommitAll(repo(), "greeting library");
  json script = {
      {"conversations",
       {{"rename",
         {{{"tool_calls", {Call("edit", {{"path", "lib.sh"}, {"old", "greet()"}, {"new", "hello()"}}),
                           Call("edit", {{"path", "uses/one.sh"}, {"old", "greet"}, {"new", "hello"}})}}},
          {{"tool_calls", {Call("submit", {{"summary", "renamed"}})}}}}},
        {"add-use",
         {{{"delay_ms", 1500}, {"tool_calls", {Call("create_file", {{"path", "uses/two.sh"}, {"content", "greet >/dev/null\n"}})}}},
          {{"tool_calls", {Call("submit", {{"summary", "added"}})}}},
          // The fix-up: told what failed and shown its patch, on the head where greet is gone.
          {{"expect", "failed the tests when it was merged"},
           {"tool_calls", {Call("create_file", {{"path", "uses/two.sh"}, {"content", "hello >/dev/null\n"}})}}},
          {{"expect", "created uses/two.sh"}, {"tool_calls", {Call("submit", {{"summary", "added, with the new name"}})}}}}}}}};
  WriteFile(dir_ / "script.json", script.dump(2));
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
      {"id": "rename", "title": "Rename greet to hello", "instructions": "rename", "files": ["lib.sh", "uses/one.sh"]},
      {"id": "add-use", "title": "Use the greeting again", "instructions": "add uses/two.sh", "files": ["uses/two.sh"]}]})");
  auto run = [&](const std::string& fixups) {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--model",
                     "scripted:" + dir_ / "script.json", "--test-cmd", "sh test.sh", "--max-fixups", fixups});
  };
  CliResult r = run("1");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("add-use's patch failed the tests; a debugging sub-agent fixes it (1 of 1)"), std::string::npos)
      << r.err;
  json report = OnlyReport(state());
  EXPECT_EQ(Outcomes(report)["add-use"], "landed") << report.dump(2);
  const std::string branch = report["result_branch"];
  EXPECT_EQ(Sh("git -C " + repo() + " show " + branch + ":uses/two.sh"), "hello >/dev/null\n");

  // Without fix-ups the same patch is rejected.
  fs::remove_all(state());
  CliResult without = run("0");
  EXPECT_EQ(without.exit_code, 1) << without.out << without.err;
  EXPECT_EQ(Outcomes(OnlyReport(state()))["add-use"], "rejected_queue");

  // A coordinator killed right after the fix-up was recorded: the resumed run still tells the
  // debugging sub-agent what failed (the script expects it) and lands the repair.
  fs::remove_all(state());
  CliResult killed = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--model",
                               "scripted:" + dir_ / "script.json", "--test-cmd", "sh test.sh"},
                              {"SWARM_FAILPOINT=fixup@add-use"});
  EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
  const std::string run_id = fs::directory_iterator(state() + "/runs")->path().filename();
  // The scripted server of the killed run is gone with it; the resumed run starts its own, whose
  // add-use conversation begins at its first step: give it a script whose first step is the fix-up's.
  json resumed_script = script;
  resumed_script["conversations"]["add-use"].erase(0);
  resumed_script["conversations"]["add-use"].erase(0);
  WriteFile(dir_ / "script.json", resumed_script.dump(2));
  CliResult resumed = RunSwarm({"resume", run_id, "--state-dir", state()});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Outcomes(OnlyReport(state()))["add-use"], "landed");
}

TEST_F(LlmAgentTest, APlanThatFailsValidationTwiceStopsTheRunWithExit2) {
  json bad = {{"subtasks", {{{"id", "a"}, {"title", "t"}, {"instructions", "i"}}, {{"id", "a"}, {"title", "t"}, {"instructions", "i"}}}}};
  json script = {{"conversations",
                  {{"planner", {{{"tool_calls", {Call("submit_plan", bad)}}},
                                {{"expect", "not valid"}, {"tool_calls", {Call("submit_plan", bad)}}}}}}}};
  auto server = ScriptedModelServer::Start(script.dump());
  ASSERT_TRUE(server.ok());
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--task", "anything", "--model", "test:m",
                          "--test-cmd", "true"},
                         TestProvider(dir_, **server, 100000));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("failed validation twice"), std::string::npos) << r.err;
  EXPECT_EQ((*server)->requests().size(), 2u) << "nothing spent beyond the planner's calls";
  // Afterwards: `swarm show` says why, its calls are readable, and report.json says it to a CI job.
  json report = OnlyReport(state());
  EXPECT_NE(report.value("reason", "").find("failed validation twice"), std::string::npos) << report.dump(2);
  EXPECT_EQ(report["exit_code"], 2);
  const std::string run_id = report["run_id"];
  CliResult shown = RunSwarm({"show", run_id, "--state-dir", state()});
  EXPECT_NE(shown.out.find("why     the planner's plan failed validation twice"), std::string::npos) << shown.out;
  CliResult transcript = RunSwarm({"show", run_id, "--state-dir", state(), "--transcript", "planner"});
  EXPECT_EQ(transcript.exit_code, 0) << transcript.err;
  EXPECT_NE(transcript.out.find("The plan is not valid"), std::string::npos) << transcript.out;
  EXPECT_NE(transcript.out.find("submit_plan"), std::string::npos) << transcript.out;
}

TEST(BundledExampleTest, ThePlannerSplitsFourFailingTestsAndFourAgentsFixThemAll) {
  TempDir dir;
  const std::string repo = dir / "textkit";
  Sh("cp -r " + SourceDir() + "/examples/bugs " + repo);
  InitRepo(repo);
  CommitAll(repo, "textkit with four bugs");
  const std::string tests = "python3 -m unittest -v test_textkit";
  ASSERT_NE(ShStatus("cd " + repo + " && " + tests), 0) << "the example starts with failing tests";
  CliResult r = RunSwarm({"run", "--repo", repo, "--state-dir", dir / "state", "--agents", "4", "--task",
                          "Fix the four failing tests", "--model", "scripted:" + SourceDir() + "/examples/bugs/scripted-model.json",
                          "--budget-usd", "1", "--test-cmd", tests, "--test-format", "unittest"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = OnlyReport(dir / "state");
  auto outcomes = Outcomes(report);
  ASSERT_EQ(outcomes.size(), 4u) << report.dump(2);
  for (const auto& [id, outcome] : outcomes) EXPECT_EQ(outcome, "landed") << id;
  EXPECT_TRUE(report["tests"]["failing_at_end"].empty()) << report.dump(2);
  // The result passes the test command.
  const std::string branch = report["result_branch"];
  Sh("git -C " + repo + " worktree add -q " + dir / "result" + " " + branch);
  EXPECT_EQ(ShStatus("cd " + dir / "result" + " && " + tests), 0);
  EXPECT_EQ(report["model"]["calls"], 17) << "one planner call and four per agent";
  // run_tests summarised the results by test: each agent saw the tests still failing, by name.
  CliResult transcript = RunSwarm({"show", report["run_id"], "--state-dir", dir / "state", "--transcript", "fix-vowels"});
  EXPECT_NE(transcript.out.find("5 tests, 3 failing: test_textkit.TextkitTest.test_reverse_words"), std::string::npos)
      << transcript.out;
}

// A user config with a provider served by `server`: no key, the given context window, and prices
// that make a call's worst case exactly $0.01 (1000 output tokens at $10 per million, input free).
std::vector<std::string> TestProvider(const TempDir& dir, const ScriptedModelServer& server, int context_window) {
  fs::create_directories(dir / "config/swarm");
  WriteFile(dir / "config/swarm/models.toml",
            "[providers.test]\nbase_url = \"" + server.base_url() + "\"\nany_model = true\nconversation_header = true\n"
            "[providers.test.defaults]\ncontext_window = " + std::to_string(context_window) +
                "\nmax_output_tokens = 1000\ninput_usd_per_mtok = 0.0\noutput_usd_per_mtok = 10.0\n");
  return {"XDG_CONFIG_HOME=" + dir.path() + "/config"};
}

TEST_F(LlmAgentTest, NearTheContextWindowOldObservationsGoAndThePrefixStays) {
  std::string big;
  for (int i = 0; i < 120; ++i) big += "line " + std::to_string(i) + " of a long file that fills the context\n";
  WriteFile(repo() + "/big.txt", big);
  CommitAll(repo(), "big");
  json read = {{"tool_calls", {Call("read_file", {{"path", "big.txt"}})}}, {"usage", {{"input", 10}, {"output", 10}}}};
  json steps = json::array({read, read, read, read, {{"tool_calls", {Call("submit", {{"summary", "read"}})}}}});
  auto server = ScriptedModelServer::Start(json({{"conversations", {{"s", steps}}}}).dump());
  ASSERT_TRUE(server.ok());
  WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "s", "title": "read", "instructions": "read big.txt"}]})");
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--model",
                          "test:m", "--test-cmd", "true"},
                         TestProvider(dir_, **server, 4000));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto requests = (*server)->requests();
  ASSERT_EQ(requests.size(), 5u);
  const json first = json::parse(requests[0].body)["messages"];
  for (const auto& req : requests) {
    const json messages = json::parse(req.body)["messages"];
    EXPECT_EQ(messages[0].dump(), first[0].dump()) << "the system prompt is byte-identical";
    EXPECT_EQ(messages[1].dump(), first[1].dump()) << "the subtask prompt is byte-identical";
  }
  const json last = json::parse(requests.back().body)["messages"];
  int elided = 0, whole = 0;
  for (const auto& m : last) {
    if (m["role"] != "tool") continue;
    const std::string content = m["content"];
    if (content.starts_with("[elided: an old observation")) ++elided;
    else if (content.find("line 119") != std::string::npos) ++whole;
  }
  EXPECT_GE(elided, 1) << last.dump(1);
  EXPECT_GE(whole, 1) << "the newest observation is kept whole";
}

TEST_F(LlmAgentTest, EightAgentsSpendExactlyWhatTheBudgetAllowsThenTheRunStops) {
  // Every call asks to read a file again and costs $0.005 (500 output tokens); its worst case is $0.01.
  json read = {{"tool_calls", {Call("read_file", {{"path", "greet.txt"}})}}, {"usage", {{"input", 100}, {"output", 500}}}};
  auto server = ScriptedModelServer::Start(json({{"default", read}}).dump());
  ASSERT_TRUE(server.ok());
  std::string subtasks;
  for (int i = 0; i < 8; ++i) {
    subtasks += std::string(i ? "," : "") + R"({"id": "s)" + std::to_string(i) + R"(", "title": "t", "instructions": "t"})";
  }
  WriteFile(dir_ / "plan.json", R"({"subtasks": [)" + subtasks + "]}");
  // A call goes when spent + $0.01 fits: after n calls, n * 0.005 + 0.01 <= 0.1025 holds up to n = 18.
  CliResult r = RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agents", "8",
                          "--model", "test:m", "--budget-usd", "0.1025", "--max-steps", "100", "--test-cmd", "true"},
                         TestProvider(dir_, **server, 100000));
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_EQ((*server)->requests().size(), 19u);
  json report = OnlyReport(state());
  EXPECT_NEAR(report["model"]["cost_usd"].get<double>(), 19 * 0.005, 1e-9);
  EXPECT_NE(r.out.find("model: "), std::string::npos) << "the summary reports the spend";
}

}  // namespace
}  // namespace swarm::testing
