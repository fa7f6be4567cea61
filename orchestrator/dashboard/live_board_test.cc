#include "orchestrator/dashboard/live_board.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

v1::Event Activity(const std::string& run, const std::string& subtask, const std::string& action) {
  v1::Event e;
  e.set_run_id(run);
  e.set_live(true);
  e.mutable_agent_activity()->set_subtask_id(subtask);
  e.mutable_agent_activity()->set_action(action);
  return e;
}

TEST(LiveBoardTest, KeepsEachSubtasksLatestActivityAndHandsOutOnlyWhatChanged) {
  LiveBoard board;
  board.Publish(Activity("r", "a", "one"));
  board.Publish(Activity("r", "b", "two"));
  board.Publish(Activity("r", "a", "three"));
  board.Publish(Activity("other", "a", "elsewhere"));
  std::uint64_t version = 0;
  std::vector<v1::Event> all = board.Since("r", &version);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].agent_activity().action(), "two");  // oldest first
  EXPECT_EQ(all[1].agent_activity().action(), "three");
  EXPECT_TRUE(board.Since("r", &version).empty());
  board.Publish(Activity("r", "b", "four"));
  std::vector<v1::Event> next = board.Since("r", &version);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].agent_activity().action(), "four");
  board.Forget("r");
  std::uint64_t fresh = 0;
  EXPECT_TRUE(board.Since("r", &fresh).empty());
  EXPECT_EQ(board.Since("other", &fresh).size(), 1u);
}

TEST(LiveBoardTest, AStagesLastWordReplacesItsFirst) {
  LiveBoard board;
  auto testing = [](const std::string& stage, const std::string& lane, std::vector<std::string> ids, bool done) {
    v1::Event e;
    e.set_run_id("r");
    e.set_live(true);
    auto* q = e.mutable_queue_testing();
    q->set_stage(stage);
    q->set_lane(lane);
    for (const auto& id : ids) q->add_subtask_ids(id);
    q->set_done(done);
    return e;
  };
  board.Publish(testing("check", "", {"a"}, false));
  board.Publish(testing("check", "", {"b"}, false));
  board.Publish(testing("queue", "", {"c", "d"}, false));
  board.Publish(Activity("r", "a", "editing"));  // an agent's word never replaces a stage's
  board.Publish(testing("check", "", {"a"}, true));
  board.Publish(testing("queue", "", {"c", "d"}, true));
  std::uint64_t version = 0;
  std::vector<v1::Event> all = board.Since("r", &version);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_FALSE(all[0].queue_testing().done());  // b's check still runs
  EXPECT_TRUE(all[0].queue_testing().subtask_ids(0) == "b");
  EXPECT_TRUE(all[1].has_agent_activity());
  EXPECT_TRUE(all[2].queue_testing().done());
  EXPECT_EQ(all[3].queue_testing().stage(), "queue");
  EXPECT_TRUE(all[3].queue_testing().done());
}

TEST(LiveBoardTest, IgnoresWhatIsNotAnActivity) {
  LiveBoard board;
  v1::Event e;
  e.set_run_id("r");
  e.mutable_run_finished();
  board.Publish(e);
  std::uint64_t version = 0;
  EXPECT_TRUE(board.Since("r", &version).empty());
}

}  // namespace
}  // namespace swarm
