// The terminal view of `swarm run`, on a real terminal: tmux runs it in a pane of a known size, and
// `tmux capture-pane` reads what a person would see: the agents with what they are doing, the merge
// queue, a message printed above the view (never glued onto it), colour unless NO_COLOR, and plain
// progress lines when the output is piped.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;
constexpr int kSubtasks = 6;

class TmuxViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/README", "hello\n");
    CommitAll(repo(), "initial");
    std::string plan = "{\"subtasks\": [";
    for (int i = 0; i < kSubtasks; ++i) {
      plan += (i ? "," : "") + std::string("{\"id\": \"s") + std::to_string(i) + "\", \"title\": \"s" +
              std::to_string(i) + "\", \"instructions\": \"\", \"files\": [\"s" + std::to_string(i) + ".txt\"]}";
    }
    WriteFile(dir_ / "plan.json", plan + "]}");
    // s1's first attempt fails (a message above the view); every agent takes a few seconds.
    WriteFile(dir_ / "run.sh",
              "#!/bin/sh\n"
              "cd " +
                  dir_.path() + "\n" + BuildDir() +
                  "/bin/swarm run --repo repo --state-dir state --plan plan.json "
                  "--agents 3 --max-attempts 2 --test-cmd true --agent-cmd '[ \"$SWARM_SUBTASK_ID\" = s1 ] && "
                  "[ \"$SWARM_ATTEMPT\" = 1 ] && exit 3; sleep 4; echo x > \"$SWARM_SUBTASK_ID.txt\"' \"$@\"\n"
                  "echo \"EXIT=$?\"\nsleep 600\n");
    fs::permissions(dir_ / "run.sh", fs::perms::owner_all);
  }
  void TearDown() override { ShStatus(Tmux() + " kill-server"); }

  std::string repo() const { return dir_ / "repo"; }
  // A tmux server of this test's own, reading no configuration.
  std::string Tmux() const { return "tmux -L swarm-view-" + std::to_string(getpid()) + " -f /dev/null"; }
  void Start(const std::string& env, const std::string& command) {
    Sh(Tmux() + " new-session -d -s view -x 110 -y 30 \"env " + env + " " + command + "\"");
  }
  std::string Pane(bool escapes = false) {
    std::string out;
    ShStatus(Tmux() + " capture-pane -p -J " + (escapes ? "-e " : "") + "-t view", &out);
    return out;
  }
  // Polls the pane until `seen` holds (up to 120 s); returns the last capture.
  std::string WaitFor(const std::function<bool(const std::string&)>& seen, bool escapes = false) {
    std::string pane;
    for (int i = 0; i < 1200; ++i) {
      pane = Pane(escapes);
      if (seen(pane)) return pane;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the pane never showed what was expected:\n" << pane;
    return pane;
  }
  static bool Has(const std::string& pane, const std::string& what) { return pane.find(what) != std::string::npos; }

  TempDir dir_{"/var/tmp"};
};

TEST_F(TmuxViewTest, ARunOnATerminalDrawsAgentsAndTheQueueInPlaceWithMessagesAboveIt) {
  Start("TERM=xterm-256color", dir_ / "run.sh");
  // Agents busy with their command, each on a line of its own, and the queue below them.
  std::string pane = WaitFor([](const std::string& p) {
    return Has(p, "running the agent command") && Has(p, "merge queue:") && Has(p, "agents busy");
  });
  EXPECT_TRUE(Has(pane, "swarm 2")) << pane;  // the heading: the run's id (a date)
  EXPECT_TRUE(Has(pane, " #1 ")) << pane;
  // In colour: the heading is bold.
  EXPECT_TRUE(Has(Pane(/*escapes=*/true), "\033[1mswarm ")) << Pane(true);
  // s1's failed attempt is said on a line of its own, above the view.
  pane = WaitFor([](const std::string& p) { return Has(p, "s1 attempt 1 failed"); });
  const size_t said = pane.find("s1 attempt 1 failed");
  const size_t line_start = pane.rfind('\n', said);
  EXPECT_EQ(pane.substr(line_start + 1, 6), "swarm:") << pane;
  EXPECT_LT(said, pane.find("merge queue:")) << pane;
  EXPECT_TRUE(Has(pane.substr(said, pane.find('\n', said) - said), "retrying")) << pane;
  // Redrawn in place: one view on the screen, however many times it was drawn.
  pane = WaitFor([](const std::string& p) { return Has(p, "EXIT="); });
  EXPECT_TRUE(Has(pane, "EXIT=0")) << pane;
  EXPECT_TRUE(Has(pane, "6/6 done: 6 landed")) << pane;
  size_t headings = 0;
  for (size_t at = pane.find("merge queue:"); at != std::string::npos; at = pane.find("merge queue:", at + 1)) {
    ++headings;
  }
  EXPECT_EQ(headings, 0u) << "the view is replaced by the last progress line at the end\n" << pane;
}

TEST_F(TmuxViewTest, NoColorAndAPipeAreHonoured) {
  Start("NO_COLOR=1 TERM=xterm-256color", dir_ / "run.sh");
  std::string pane =
      WaitFor([](const std::string& p) { return Has(p, "running the agent command"); }, /*escapes=*/true);
  EXPECT_FALSE(Has(pane, "\033[1m")) << pane;
  WaitFor([](const std::string& p) { return Has(p, "EXIT="); });
  Sh(Tmux() + " kill-session -t view");

  // Piped: no view, no escape sequences, a plain line each time the counts change.
  fs::remove_all(dir_ / "state");
  Start("TERM=xterm-256color", "sh -c '" + dir_ / "run.sh" + " 2>&1 | cat'");
  pane = WaitFor([](const std::string& p) { return Has(p, "EXIT="); }, /*escapes=*/true);
  EXPECT_FALSE(Has(pane, "merge queue:")) << pane;
  EXPECT_FALSE(Has(pane, "\033[")) << pane;
  EXPECT_TRUE(Has(pane, "swarm: 6/6 done: 6 landed")) << pane;
}

}  // namespace
}  // namespace swarm::testing
