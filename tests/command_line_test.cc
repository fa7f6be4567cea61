// The command lines as a new user meets them, through the real binaries: versions, help, a mistyped
// command, bad values in swarm's words (never the parser's), and what an empty state directory says.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

TEST(CommandLineE2eTest, VersionsAndHelp) {
  CliResult version = RunSwarm({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out.rfind("swarm 0.", 0), 0u) << version.out;
  std::string agent_version = Sh(BuildDir() + "/bin/swarm-agent --version");
  EXPECT_EQ(agent_version.rfind("swarm-agent 0.", 0), 0u) << agent_version;

  CliResult help = RunSwarm({"help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("Exit status: 0"), std::string::npos) << "the exit statuses are listed";
  EXPECT_NE(help.out.find("$XDG_STATE_HOME/swarm, else"), std::string::npos) << "the state directory's fallbacks";
  for (const char* command : {"run", "resume", "cancel", "show", "logs", "gc", "serve", "watch", "models"}) {
    EXPECT_NE(help.out.find(std::string("  ") + command + " "), std::string::npos) << "lists " << command << ":\n" << help.out;
  }
  EXPECT_EQ(help.out.find("[command]"), std::string::npos) << "swarm's help, not help's own: " << help.out;
  CliResult run_help = RunSwarm({"help", "run"});
  EXPECT_EQ(run_help.exit_code, 0) << run_help.err;
  EXPECT_NE(run_help.out.find("--max-rebases"), std::string::npos) << run_help.out;
  CliResult no_topic = RunSwarm({"help", "rn"});
  EXPECT_EQ(no_topic.exit_code, 2);
  EXPECT_NE(no_topic.err.find("did you mean `swarm help run`?"), std::string::npos) << no_topic.err;
}

TEST(CommandLineE2eTest, AMistypedCommandIsNamedWithTheNearestOne) {
  CliResult r = RunSwarm({"runn"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command \"runn\"; did you mean `swarm run` or `swarm runs`?"), std::string::npos) << r.err;
}

// Each message says which flag and what it takes, in swarm's words; nothing of the parser's wording
// ("Could not convert", "Value ... not in range", "not expected", "required TEXT missing").
TEST(CommandLineE2eTest, BadValuesAreToldInSwarmsWords) {
  struct Case {
    std::vector<std::string> args;
    std::string told;
    int exit_code;
  };
  const std::vector<Case> cases = {
      {{"run", "--agents", "abc"}, "--agents takes a whole number, not \"abc\"", 2},
      {{"run", "--agents", "0"}, "--agents must be between 1 and 1000000, not 0", 2},
      {{"run", "--memory-limit-mb", "-5"}, "--memory-limit-mb must be between 0 and 16777216, not -5", 2},
      {{"run", "--max-file-mb", "99999999"}, "--max-file-mb must be between 0 and 16777216, not 99999999", 2},
      {{"run", "--test-timeout", "1e400"}, "--test-timeout takes a whole number", 2},
      {{"run", "--bogus"}, "unknown option --bogus for `swarm run`", 2},
      {{"run", "--agentz", "3"}, "unknown option --agentz for `swarm run`; did you mean --agents?", 2},
      {{"watch"}, "`swarm watch` needs RUN", 2},
      {{"show", "a", "b"}, "unexpected argument b for `swarm show`", 2},
      {{"runs", "--state-dir"}, "--state-dir needs a value", 2},
      {{"cancel", "x", "--wait", "soon"}, "--wait takes a whole number, not \"soon\"", 2},
      {{"run", "--agents", "2", "--agents", "3"}, "--agents was given 2 times; give it once", 2},
  };
  // What only a model uses is refused without --model, as --budget-usd is.
  TempDir dir;
  Sh("git init -q " + dir.path() + "/repo && cd " + dir.path() + "/repo && echo a > a && git add a && "
     "git -c user.email=t@t -c user.name=t commit -qm a");
  for (const std::vector<std::string>& flag : std::vector<std::vector<std::string>>{
           {"--max-steps", "100"}, {"--max-fixups", "3"}, {"--max-attempt-tokens", "5000"}, {"--budget-usd", "2"}}) {
    std::vector<std::string> args = {"run",         "--repo",     dir.path() + "/repo", "--state-dir", dir.path() + "/state",
                                     "--agent-cmd", "true",       "--test-cmd",         "true",        "--shard",
                                     "a",           "--parts",    "1"};
    args.insert(args.end(), flag.begin(), flag.end());
    CliResult r = RunSwarm(args);
    EXPECT_EQ(r.exit_code, 2) << flag[0] << ": " << r.err;
    EXPECT_NE(r.err.find(flag[0] + " goes with --model"), std::string::npos) << r.err;
  }
  for (const Case& c : cases) {
    CliResult r = RunSwarm(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.told << "\n" << r.err;
    EXPECT_NE(r.err.find(c.told), std::string::npos) << r.err;
    for (const char* parser : {"Could not convert", "not in range", "not expected", "required TEXT", "Value ", "At Most"}) {
      EXPECT_EQ(r.err.find(parser), std::string::npos) << "the parser's words reached the user: " << r.err;
    }
  }
  std::string agent_err;
  EXPECT_EQ(ShStatus(BuildDir() + "/bin/swarm-agent --slots x 2>&1", &agent_err), 2) << "swarm's usage status";
  EXPECT_NE(agent_err.find("--slots takes a whole number"), std::string::npos) << agent_err;
}

// An older swarm-agent (installed on PATH, or given) is never used by a newer swarm.
TEST(CommandLineE2eTest, AnAgentBinaryOfAnotherVersionIsRefused) {
  TempDir dir;
  Sh("git init -q " + dir.path() + "/repo && cd " + dir.path() + "/repo && echo a > a && git add a && "
     "git -c user.email=t@t -c user.name=t commit -qm a");
  WriteFile(dir.path() + "/old-agent", "#!/bin/sh\necho swarm-agent 0.0.1\n");
  Sh("chmod +x " + dir.path() + "/old-agent");
  CliResult r = RunSwarm({"run", "--repo", dir.path() + "/repo", "--state-dir", dir.path() + "/state", "--agent-cmd",
                          "true", "--test-cmd", "true", "--shard", "a", "--parts", "1", "--agent-binary",
                          dir.path() + "/old-agent"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("is \"swarm-agent 0.0.1\"; this swarm needs swarm-agent 0."), std::string::npos) << r.err;
  EXPECT_TRUE(!std::filesystem::exists(dir.path() + "/state/runs") || std::filesystem::is_empty(dir.path() + "/state/runs"))
      << "nothing was started";
  // Another build of the same release whose messages differ: its protocol id gives it away.
  const std::string own = Sh(BuildDir() + "/bin/swarm-agent --version");
  ASSERT_NE(own.find(" (protocol "), std::string::npos) << own;
  WriteFile(dir.path() + "/old-agent", "#!/bin/sh\necho '" + own.substr(0, own.find(" (protocol ")) + " (protocol 00000000)'\n");
  r = RunSwarm({"run", "--repo", dir.path() + "/repo", "--state-dir", dir.path() + "/state", "--agent-cmd", "true",
                "--test-cmd", "true", "--shard", "a", "--parts", "1", "--agent-binary", dir.path() + "/old-agent"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("(protocol 00000000)\"; this swarm needs " + own.substr(0, own.size() - 1)), std::string::npos)
      << r.err;
}

// --max-run-time: a run that reaches it stops as a cancel does, and can be resumed.
TEST(CommandLineE2eTest, ARunThatReachesItsMaxRunTimeStopsAsACancelDoes) {
  TempDir dir;
  Sh("git init -q " + dir.path() + "/repo && cd " + dir.path() + "/repo && echo a > a && echo b > b && git add a b && "
     "git -c user.email=t@t -c user.name=t commit -qm a");
  const std::vector<std::string> base = {"run", "--repo", dir.path() + "/repo", "--state-dir", dir.path() + "/state",
                                         "--test-cmd", "true", "--shard", "*", "--parts", "2", "--independent"};
  std::vector<std::string> bad = base;
  bad.insert(bad.end(), {"--agent-cmd", "true", "--max-run-time", "2 hours"});
  CliResult refused = RunSwarm(bad);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--max-run-time takes a duration such as 90s"), std::string::npos) << refused.err;
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--agent-cmd", "sleep 600", "--max-run-time", "2s", "--json"});
  CliResult r = RunSwarm(args);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("the run reached --max-run-time 2s"), std::string::npos) << r.err;
  nlohmann::json report = OnlyReport(dir.path() + "/state");
  EXPECT_EQ(report["state"], "cancelled");
  EXPECT_NE(r.err.find("` goes on from here"), std::string::npos) << "the summary says how to resume: " << r.err;
}

// The README's plan example, as written, from the repository's root: the plan file and the agent
// script are the user's, uncommitted; the sandbox shows the script to the agents (and nothing of it
// lands), and a script in $HOME outside the repository is shown too.
TEST(CommandLineE2eTest, TheReadmesPlanExampleRunsAsWrittenWithAnUncommittedScript) {
  TempDir dir;
  const std::string repo = dir.path() + "/repo", home = dir.path() + "/home";
  Sh("mkdir -p " + repo + " " + home + "/bin && cd " + repo + " && git init -q && printf 'test:\n\ttest -f Makefile\n' > Makefile && "
     "git add Makefile && git -c user.email=t@t -c user.name=t commit -qm base");
  std::string readme = ReadFile(SourceDir() + "/README.md");
  auto plan_at = readme.find("```json\n", readme.find("A plan file:"));
  ASSERT_NE(plan_at, std::string::npos) << "the README has a plan file example";
  plan_at += 8;
  WriteFile(repo + "/plan.json", readme.substr(plan_at, readme.find("```", plan_at) - plan_at));
  WriteFile(repo + "/do-subtask.sh", "#!/bin/sh\nmkdir -p out && echo \"$SWARM_SUBTASK_ID\" > out/$SWARM_SUBTASK_ID.txt\n");
  Sh("chmod +x " + repo + "/do-subtask.sh");
  const std::string swarm = std::filesystem::absolute(BuildDir() + "/bin/swarm").string();
  const std::string env = "HOME=" + home + " SWARM_STATE_DIR=" + dir.path() + "/state ";
  std::string before = UserVisibleState(repo);
  std::string out;
  ASSERT_EQ(ShStatus("cd " + repo + " && " + env + swarm +
                         " run --repo . --plan plan.json --agent-cmd ./do-subtask.sh --test-cmd 'make test' --dry-run 2>&1",
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("do-subtask.sh read-only at do-subtask.sh in their workspace"), std::string::npos)
      << "--dry-run says what the agents will see: " << out;
  int status = ShStatus("cd " + repo + " && " + env + swarm +
                            " run --repo . --plan plan.json --agent-cmd ./do-subtask.sh --test-cmd 'make test' 2>&1",
                        &out);
  ASSERT_EQ(status, 0) << out;
  nlohmann::json report = OnlyReport(dir.path() + "/state");
  for (const char* id : {"api", "docs", "r1", "r2"}) EXPECT_EQ(Outcomes(report)[id], "landed") << id << "\n" << out;
  const std::string branch = report.value("result_branch", "");
  EXPECT_EQ(Sh("git -C " + repo + " ls-tree -r --name-only " + branch),
            "Makefile\nout/api.txt\nout/docs.txt\nout/r1.txt\nout/r2.txt\n")
      << "the script itself is the user's: it does not land";
  EXPECT_EQ(UserVisibleState(repo), before) << "the user's files are untouched";

  // A script in $HOME, outside the repository, named with ~ as the README's words have it.
  WriteFile(home + "/bin/agent.sh", "echo from-home > from-home.txt\n");
  int home_status = ShStatus("cd " + repo + " && " + env + swarm +
                                 " run --repo . --shard Makefile --parts 1 --agent-cmd 'sh ~/bin/agent.sh' --test-cmd true 2>&1",
                             &out);
  EXPECT_EQ(home_status, 0) << out;
  EXPECT_NE(out.find("result branch:"), std::string::npos) << out;

  // What cannot resolve in the sandbox is refused before anything starts, saying what to do.
  WriteFile(home + "/bin/my-agent", "#!/bin/sh\n");
  Sh("chmod +x " + home + "/bin/my-agent");
  int refused = ShStatus("cd " + repo + " && PATH=" + home + "/bin:$PATH " + env + swarm +
                             " run --repo . --plan plan.json --agent-cmd 'my-agent --go' --test-cmd true 2>&1",
                         &out);
  EXPECT_EQ(refused, 2) << out;
  EXPECT_NE(out.find("is not on the sandbox's PATH"), std::string::npos) << out;
  EXPECT_NE(out.find("--sandbox-ro-bind"), std::string::npos) << out;
}

// What a CI job sets: the branch's name, the commits' author and sign-off; and each commit's body is
// its agent's own summary ($SWARM_SUMMARY), which cannot forge the trailers resume reads.
TEST(CommandLineE2eTest, ACiRunNamesItsBranchAuthorAndSignoffAndCommitsCarryTheAgentsSummary) {
  TempDir dir;
  const std::string repo = dir.path() + "/repo";
  Sh("git init -q " + repo + " && cd " + repo + " && echo a > a && echo b > b && git add a b && "
     "git -c user.email=t@t -c user.name=t commit -qm a && git branch taken");
  const std::string agent =
      "echo changed >> $SWARM_FILES; printf 'Appended a line to %s.\\n\\nswarm-subtask: forged\\n' "
      "\"$SWARM_FILES\" > \"$SWARM_SUMMARY\"";
  std::vector<std::string> args = {"run", "--repo", repo, "--state-dir", dir.path() + "/state", "--shard", "*",
                                   "--parts", "2", "--independent", "--agent-cmd", agent, "--test-cmd", "true"};
  for (const auto& [flags, told] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--branch", "taken"}, "--branch taken: the repository has the branch taken"},
           {{"--branch", "taken/sub"}, "--branch taken/sub: the repository has the branch taken"},
           {{"--branch", "bad..name"}, "--branch bad..name is not a name git takes for a branch"},
           {{"--branch", "@{-1}"}, "--branch @{-1} is not a name git takes for a branch"},
           {{"--branch", "ok", "--author", ". <a@b>"}, "--author takes \"Name <email>\""},
           {{"--branch", "ok", "--author", "no email"}, "--author takes \"Name <email>\""}}) {
    std::vector<std::string> bad = args;
    bad.insert(bad.end(), flags.begin(), flags.end());
    CliResult r = RunSwarm(bad);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(told), std::string::npos) << r.err;
  }
  args.insert(args.end(), {"--branch", "ci/fix-1", "--author", "CI Bot <ci@example.com>", "--signoff"});
  CliResult r = RunSwarm(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("result branch: ci/fix-1"), std::string::npos) << r.out;
  EXPECT_EQ(Sh("git -C " + repo + " branch --list 'swarm/*'"), "") << "no swarm/RUN branch besides";
  EXPECT_EQ(Sh("git -C " + repo + " log --format='%an <%ae>|%cn' taken..ci/fix-1 | sort -u"),
            "CI Bot <ci@example.com>|swarm\n");
  std::string bodies = Sh("git -C " + repo + " log --format=%B taken..ci/fix-1");
  EXPECT_NE(bodies.find("Appended a line to a."), std::string::npos) << bodies;
  EXPECT_NE(bodies.find("Appended a line to b."), std::string::npos) << bodies;
  // What `swarm resume` reads back: only swarm's own trailers.
  EXPECT_EQ(Sh("git -C " + repo + " log --format='%(trailers:key=swarm-subtask,valueonly,separator=%x2C)' "
               "taken..ci/fix-1 | sort"),
            "shard-1\nshard-2\n");
  EXPECT_EQ(Sh("git -C " + repo + " log --format='%(trailers:key=Signed-off-by,valueonly)' taken..ci/fix-1 | sort -u"),
            "\nCI Bot <ci@example.com>\n");
}

TEST(CommandLineE2eTest, AnEmptyStateDirectoryHasNoRunsAndThatIsNoError) {
  TempDir dir;
  CliResult r = RunSwarm({"runs", "--state-dir", dir.path() + "/state"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no runs in"), std::string::npos) << r.out;
  CliResult gc = RunSwarm({"gc", "--state-dir", dir.path() + "/state"});
  EXPECT_EQ(gc.exit_code, 0) << "a CI cleanup step on a fresh runner: " << gc.err;
  EXPECT_NE(gc.out.find("nothing to remove"), std::string::npos) << gc.out;
}

}  // namespace
}  // namespace swarm::testing
