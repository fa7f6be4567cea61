#include "base/command_line.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace swarm {
namespace {

// Parses `args` with a small swarm-like command line and returns what the user is told.
std::string Told(std::vector<std::string> args) {
  CLI::App app{"swarm"};
  app.require_subcommand(1);
  CLI::App* run = app.add_subcommand("run", "run");
  CLI::App* runs = app.add_subcommand("runs", "runs");
  CLI::App* watch = app.add_subcommand("watch", "watch");
  (void)runs;
  int agents = 4;
  unsigned memory = 0;
  double budget = 0;
  std::string state_dir, run_id;
  run->add_option("--agents", agents, "agent slots");
  run->add_option("--memory-limit-mb", memory, "memory")->check(CLI::Range(0u, 100u));
  run->add_option("--ratio", budget, "a number");
  run->add_option("--state-dir", state_dir, "where");
  watch->add_option("run", run_id, "the run id")->required();
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return ParseErrorInWords(e, app, "swarm", args);
  }
  return "";
}

TEST(CommandLineTest, BadValuesSayWhichFlagAndWhatItTakes) {
  EXPECT_EQ(Told({"run", "--agents", "abc"}), "--agents takes a whole number, not \"abc\"");
  EXPECT_EQ(Told({"run", "--memory-limit-mb", "abc"}), "--memory-limit-mb must be between 0 and 100, not abc");
  EXPECT_EQ(Told({"run", "--ratio", "x"}), "--ratio takes a number, not \"x\"");
  EXPECT_EQ(Told({"run", "--memory-limit-mb", "200"}), "--memory-limit-mb must be between 0 and 100, not 200");
  EXPECT_EQ(Told({"run", "--state-dir"}), "--state-dir needs a value (see `swarm run --help`)");
}

TEST(CommandLineTest, UnknownCommandsAndOptionsAreNamedWithTheNearestCommand) {
  EXPECT_EQ(Told({"runn"}),
            "unknown command \"runn\"; did you mean `swarm run` or `swarm runs`? (commands: run, runs, watch)");
  EXPECT_EQ(Told({"wach", "x"}), "unknown command \"wach\"; did you mean `swarm watch`? (commands: run, runs, watch)");
  EXPECT_EQ(Told({"deploy"}), "unknown command \"deploy\" (commands: run, runs, watch)");
  EXPECT_EQ(Told({}), "give a command: run, runs, watch (see `swarm --help`)");
  EXPECT_EQ(Told({"run", "--bogus"}), "unknown option --bogus for `swarm run` (see `swarm run --help`)");
  EXPECT_EQ(Told({"watch", "a", "b"}), "unexpected argument b for `swarm watch` (see `swarm watch --help`)");
  EXPECT_EQ(Told({"watch"}), "`swarm watch` needs RUN (see `swarm watch --help`)");
}

TEST(CommandLineTest, NoneOfTheParsersOwnWordsReachTheUser) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"run", "--agents", "1e400"},
                                                                {"run", "--memory-limit-mb", "-5"},
                                                                {"run", "--ratio", "1e400"},
                                                                {"run", "x", "y"},
                                                                {"watch"}}) {
    const std::string told = Told(args);
    for (const char* parser : {"Could not convert", "not in range", "not expected", "required TEXT", "Value "}) {
      EXPECT_EQ(told.find(parser), std::string::npos) << told;
    }
  }
}

TEST(CommandLineTest, NearestIsWithinTwoEditsOrAPrefix) {
  EXPECT_EQ(Nearest("runn", {"run", "runs", "resume"}), "run");
  EXPECT_EQ(Nearest("res", {"run", "runs", "resume"}), "resume");
  EXPECT_EQ(Nearest("xyzzy", {"run", "runs", "resume"}), "");
  EXPECT_STRNE(SwarmVersion(), "");
}

}  // namespace
}  // namespace swarm
