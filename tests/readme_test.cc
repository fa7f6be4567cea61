// Every command block of the README (```sh), run as a reader would paste it, in order. A block that
// breaks fails this test. The first two blocks run from the checkout, as the README says; the others
// in a fresh repository of the kind they are written for (a small C project with `make test`, the
// README's plan file and an uncommitted ./do-subtask.sh beside it), with swarm on PATH, a home of
// their own and a state directory in it. The DeepSeek example talks to the scripted model server, the
// one stand-in for a provider (no provider is reachable here), through a models.toml that points
// deepseek's base URL at it. Synopses of flags (```text) are not commands and are not run.
//
// One block is not run: the one that runs this test suite (scripts/test.sh), which is what CI runs,
// and which would run this test again inside itself.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/scripted/scripted_model_server.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The README's fenced blocks of `language`, in order.
std::vector<std::string> Blocks(const std::string& text, const std::string& language) {
  std::vector<std::string> blocks;
  const std::string open = "```" + language + "\n";
  for (auto at = text.find(open); at != std::string::npos; at = text.find(open, at)) {
    at += open.size();
    auto end = text.find("\n```", at - 1);
    blocks.push_back(text.substr(at, end + 1 - at));
    at = end;
  }
  return blocks;
}

json Call(const std::string& name, json arguments) { return {{"name", name}, {"arguments", std::move(arguments)}}; }

class ReadmeTest : public ::testing::Test {
 protected:
  // A small C project: `make test` builds and runs it; old_name is the name the codemod renames.
  void MakeProject(const std::string& repo, const std::string& plan) {
    WriteFile(repo + "/util.h", "int old_name(int x);\n");
    WriteFile(repo + "/util.c", "#include \"util.h\"\nint old_name(int x) { return x + 1; }\n");
    WriteFile(repo + "/main.c", "#include \"util.h\"\nint main(void) { return old_name(1) == 2 ? 0 : 1; }\n");
    WriteFile(repo + "/Makefile", "test:\n\tcc -o check main.c util.c && ./check\n");
    WriteFile(repo + "/.gitignore", "check\nplan.json\ndo-subtask.sh\n");
    InitRepo(repo);
    CommitAll(repo, "a small C project");
    // The reader's own files, not committed: the plan, and the agent script the README names.
    WriteFile(repo + "/plan.json", plan);
    WriteFile(repo + "/do-subtask.sh", "#!/bin/sh\necho \"$SWARM_SUBTASK_ID done\" > \"notes-$SWARM_SUBTASK_ID.txt\"\n");
    Sh("chmod +x " + repo + "/do-subtask.sh");
  }
};

TEST_F(ReadmeTest, EveryCommandBlockRunsAsWritten) {
  const std::string source = SourceDir();
  const std::string readme = ReadFile(source + "/README.md");
  const std::vector<std::string> blocks = Blocks(readme, "sh");
  const std::vector<std::string> plans = Blocks(readme, "json");
  ASSERT_GE(blocks.size(), 6u);
  ASSERT_FALSE(plans.empty()) << "the README's plan file example";
  // Commands are in ```sh blocks; synopses of flags in ```text. Any other shell fence would be missed.
  for (const char* other : {"```bash", "```shell", "```console", "```zsh", "    $ "}) {
    EXPECT_EQ(readme.find(other), std::string::npos) << "a command block this test would not run: " << other;
  }
  const std::string bin = fs::absolute(BuildDir() + "/bin").string();

  // The planner's plan and the agent's tool calls for the DeepSeek example, whatever its words.
  json plan = {{"subtasks", {{{"id", "cookies"}, {"title", "Keep the session in a cookie"}, {"instructions", "..."},
                              {"files", {"SESSION.md"}}}}}};
  json script = {{"conversations",
                  {{"planner", {{{"tool_calls", {Call("submit_plan", plan)}}}}},
                   {"cookies", {{{"tool_calls", {Call("create_file", {{"path", "SESSION.md"}, {"content", "cookies\n"}})}}},
                                {{"tool_calls", {Call("submit", {{"summary", "Sessions live in a cookie."}})}}}}}}}};
  absl::StatusOr<std::unique_ptr<ScriptedModelServer>> server = ScriptedModelServer::Start(script.dump());
  ASSERT_TRUE(server.ok()) << server.status();

  int ran = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string& block = blocks[i];
    if (block.find("scripts/test.sh") != std::string::npos) continue;  // this suite: CI runs it
    TempDir dir;
    const std::string home = dir.path() + "/home", repo = dir.path() + "/repo";
    fs::create_directories(home + "/.config/swarm");
    WriteFile(home + "/.config/swarm/models.toml", "[providers.deepseek]\nbase_url = \"" + (*server)->base_url() +
                                                       "\"\nconversation_header = true\n");
    MakeProject(repo, plans[0]);
    const bool from_checkout = block.rfind("scripts/", 0) == 0;
    const std::string script_file = dir.path() + "/block.sh";
    WriteFile(script_file, "set -e\n" + block);
    // TMPDIR: what a block makes with mktemp (the demo's directory, the bugs example's copy) goes
    // with the test's own directory.
    fs::create_directories(dir.path() + "/tmp");
    std::string env = "HOME=" + home + " XDG_CONFIG_HOME= XDG_STATE_HOME= SWARM_STATE_DIR=" + home +
                      "/state SWARM_SRC=" + source + " TMPDIR=" + dir.path() + "/tmp PATH=" + bin + ":$PATH";
    std::string output;
    int status = ShStatus("cd " + (from_checkout ? source : repo) + " && env " + env + " sh " + script_file, &output);
    EXPECT_EQ(status, 0) << "README block " << i + 1 << " failed:\n" << block << "\n--- its output:\n" << output;
    std::cout << "README block " << i + 1 << ": " << block.substr(0, block.find('\n')) << " -> exit " << status << "\n";
    ++ran;
    if (status != 0) continue;
    // What each run did: the bugs example fixed all four, the others left a branch in the repository
    // they ran on with what the command does.
    if (block.find("examples/bugs") != std::string::npos) {
      const std::string runs = home + "/state/runs";
      ASSERT_TRUE(fs::exists(runs)) << output;
      for (const auto& run : fs::directory_iterator(runs)) {
        json report = json::parse(ReadFile((run.path() / "report.json").string()), nullptr, false);
        EXPECT_EQ(report.value("counts", json::object()).value("landed", 0), 4) << report.dump(2);
      }
    } else if (!from_checkout && block.find("swarm run") != std::string::npos) {
      const std::string branch = Trim(Sh("git -C " + repo + " for-each-ref --format='%(refname:short)' refs/heads/swarm/"));
      ASSERT_NE(branch, "") << "block " << i + 1 << ":\n" << output;
      if (block.find("--shard") != std::string::npos) {
        EXPECT_EQ(Sh("git -C " + repo + " grep -c old_name " + branch + " -- '*.c' '*.h' || true"), "")
            << "the codemod renamed every use";
        EXPECT_NE(Sh("git -C " + repo + " show " + branch + ":util.c"), ReadFile(repo + "/util.c"));
      }
      if (block.find("--plan plan.json") != std::string::npos) {
        EXPECT_EQ(Sh("git -C " + repo + " ls-tree --name-only " + branch + " | grep -c '^notes-'"), "4\n")
            << "each of the plan's four subtasks ran the script";
      }
    }
  }
  EXPECT_EQ(ran, static_cast<int>(blocks.size()) - 1) << "every block but the test suite's";
  EXPECT_EQ((*server)->requests().size(), 3u) << "the DeepSeek example: the planner's call and the agent's two";
  EXPECT_TRUE((*server)->unexpected().empty()) << "the DeepSeek example asked what the script did not expect";
}

}  // namespace
}  // namespace swarm::testing
