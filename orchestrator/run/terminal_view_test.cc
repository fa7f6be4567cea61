#include "orchestrator/run/terminal_view.h"

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "orchestrator/run/run_recorder.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

constexpr std::int64_t kStart = 1'700'000'000'000;

TerminalView View(double budget = 0) {
  return TerminalView({.run_id = "20261207-run", .budget_usd = budget, .color = false, .start_unix_ms = kStart});
}

TEST(TerminalViewTest, ShowsCostAgentsOldestFirstTheQueueAndTheLastEvents) {
  TerminalView view = View(5);
  v1::Event call;
  call.mutable_model_called()->mutable_call()->set_cost_usd(0.42);
  call.mutable_model_called()->mutable_call()->mutable_usage()->set_input_tokens(12'345);
  call.mutable_model_called()->mutable_call()->mutable_usage()->set_output_tokens(678);
  view.Observe(call);
  view.Seed(0.42, 12'345, 0, 678);  // as BeginView seeds it from the store: the same totals
  v1::Event landed;
  landed.set_time_unix_ms(kStart + 5'000);
  landed.mutable_landed()->add_subtask_ids("parse");
  landed.mutable_landed()->set_commit("0123456789abcdef");
  view.Observe(landed);
  v1::Event rejected;
  rejected.set_time_unix_ms(kStart + 6'000);
  rejected.mutable_patch_rejected()->set_subtask_id("lex");
  SetReason(*rejected.mutable_patch_rejected(), v1::REJECTION_REASON_TESTS_FAILED);
  view.Observe(rejected);

  const std::int64_t now = kStart + 125'000;
  std::vector<AgentRow> agents = {{.subtask_id = "young", .attempt = 1, .granted_unix_ms = now - 3'000},
                                  {.subtask_id = "old",
                                   .attempt = 2,
                                   .granted_unix_ms = now - 61'000,
                                   .step = 4,
                                   .action = "edit: src/a.c",
                                   .action_unix_ms = now - 12'000}};
  ProgressCounts counts{
      .total = 10, .landed = 1, .busy_agents = 2, .merging = 3, .model_limit = 8, .model_in_flight = 2};
  const std::vector<std::string> lines = view.Render(counts, agents, now, 120, 40);
  const std::string text = absl::StrJoin(lines, "\n");
  EXPECT_EQ(lines[0], "swarm 20261207-run  2m05s  cost $0.42 of $5.00  tokens 12k in (0 cached), 678 out") << text;
  EXPECT_EQ(lines[1], "1/10 done: 1 landed, 0 failed, 0 skipped | 2 agents busy, 3 merging, model 2/8 in flight");
  EXPECT_EQ(lines[2], "  old   #2  1m01s  step 4: edit: src/a.c (12s)") << text;
  EXPECT_EQ(lines[3], "  young #1     3s  starting") << text;
  EXPECT_EQ(lines[4], "merge queue: 3 patches in the check or the queue, 1 landed, 1 rejected (last: tests_failed)");
  EXPECT_NE(lines[5].find("landed parse (0123456789)"), std::string::npos) << text;
  EXPECT_NE(lines[6].find("rejected lex: tests_failed"), std::string::npos) << text;
  EXPECT_EQ(lines.size(), 7u);
}

TEST(TerminalViewTest, FitsTheWindowAndSaysHowManyAgentsItLeftOut) {
  TerminalView view = View();
  std::vector<AgentRow> agents;
  for (int i = 0; i < 300; ++i) {
    agents.push_back({.subtask_id = "subtask-" + std::to_string(i),
                      .attempt = 1,
                      .granted_unix_ms = kStart + i,
                      .action = std::string(500, 'x'),
                      .action_unix_ms = kStart});
  }
  const std::vector<std::string> lines = view.Render({.total = 300, .busy_agents = 300}, agents, kStart + 1000, 60, 12);
  ASSERT_EQ(lines.size(), 12u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 60u + 2) << line;  // "…" is 3 bytes, 1 column
  EXPECT_EQ(lines[2].rfind("  subtask-0 ", 0), 0u) << lines[2];
  const std::string text = absl::StrJoin(lines, "\n");
  EXPECT_NE(text.find("... and 292 more agents"), std::string::npos) << text;
  EXPECT_NE(text.find("merge queue"), std::string::npos) << text;
}

TEST(TerminalViewTest, AgentChosenTextIsEscapedAndColourComesOnlyWhenAsked) {
  TerminalView plain = View();
  std::vector<AgentRow> agents = {{.subtask_id = "a",
                                   .attempt = 1,
                                   .granted_unix_ms = kStart,
                                   .action = "run: \033[2J\033]0;pwned\007",
                                   .action_unix_ms = kStart}};
  std::string text = absl::StrJoin(plain.Render({.total = 1}, agents, kStart, 100, 20), "\n");
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  EXPECT_EQ(text.find('\007'), std::string::npos) << text;
  TerminalView colored({.run_id = "r", .color = true, .start_unix_ms = kStart});
  text = absl::StrJoin(colored.Render({.total = 1}, agents, kStart, 100, 20), "\n");
  EXPECT_NE(text.find("\033[1m"), std::string::npos) << text;  // the heading, bold
  EXPECT_EQ(text.find("\033[2J"), std::string::npos) << text;
}

TEST(TerminalViewTest, DurationsAndColumns) {
  EXPECT_EQ(ShortDuration(42'900), "42s");
  EXPECT_EQ(ShortDuration(185'000), "3m05s");
  EXPECT_EQ(ShortDuration(3'720'000), "1h02m");
  EXPECT_EQ(ShortDuration(-5), "0s");
  EXPECT_EQ(FitColumns("abcdef", 6), "abcdef");
  EXPECT_EQ(FitColumns("abcdefg", 6), "abcde\u2026");
  EXPECT_EQ(FitColumns("\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");  // cut between characters
  EXPECT_EQ(DisplayColumns("\033[1mab\u00e9\033[0m"), 3);
}

}  // namespace
}  // namespace swarm
