#include "orchestrator/store/event_tail.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "orchestrator/store/store.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

using ::swarm::testing::TempDir;

v1::Event Registered(const std::string& host) {
  v1::Event e;
  e.set_run_id("r1");
  e.mutable_agent_registered()->set_host_id(host);
  return e;
}

class EventTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.path() + "/swarm.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    v1::Event started;
    started.set_run_id("r1");
    started.mutable_run_started()->set_repo("/repo");
    Apply(started);
  }
  void Apply(v1::Event e) { ASSERT_TRUE(store_->Apply(e).ok()); }
  void Finish() {
    v1::Event e;
    e.set_run_id("r1");
    e.mutable_run_finished()->set_state("completed");
    e.mutable_run_finished()->set_exit_code(1);
    Apply(e);
  }
  TailRequest Request(std::uint64_t after_seq, std::function<bool()> alive) {
    TailRequest r;
    r.state_dir = dir_.path();
    r.run_id = "r1";
    r.after_seq = after_seq;
    r.alive = std::move(alive);
    r.poll = std::chrono::milliseconds(5);
    return r;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(EventTailTest, FollowsEventsAsTheyAreWrittenUntilRunFinished) {
  std::vector<std::uint64_t> seen;
  std::atomic<size_t> delivered{0};
  // The writer waits for the follower to catch up each time, so the follower sees live events too.
  std::jthread writer([&] {
    for (int i = 0; i < 5; ++i) {
      while (delivered.load() < static_cast<size_t>(i) + 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      Apply(Registered("host-" + std::to_string(i)));
    }
    Finish();
  });
  absl::Status st = TailEvents(Request(0, [] { return true; }), [&](const v1::Event& e) {
    seen.push_back(e.seq());
    ++delivered;
    return true;
  });
  writer.join();
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(EventTailTest, StartsAfterTheGivenSeqAndEndsAtOnceWhenTheRunHadFinished) {
  Apply(Registered("host-1"));
  Finish();
  std::vector<std::uint64_t> seen;
  auto collect = [&](const v1::Event& e) {
    seen.push_back(e.seq());
    return true;
  };
  ASSERT_TRUE(TailEvents(Request(1, [] { return false; }), collect).ok());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{2, 3}));
  seen.clear();
  ASSERT_TRUE(TailEvents(Request(3, [] { return true; }), collect).ok()) << "a finished run ends the tail";
  EXPECT_TRUE(seen.empty());
}

TEST_F(EventTailTest, UnknownRunIsNotFoundAndADeadCoordinatorIsAborted) {
  TailRequest unknown = Request(0, [] { return false; });
  unknown.run_id = "r2";
  EXPECT_TRUE(absl::IsNotFound(TailEvents(unknown, [](const v1::Event&) { return true; })));
  int n = 0;
  absl::Status st = TailEvents(Request(0, [] { return false; }), [&](const v1::Event&) { return ++n > 0; });
  EXPECT_TRUE(absl::IsAborted(st)) << st;
  EXPECT_EQ(n, 1) << "what was written is delivered before the error";
}

TEST_F(EventTailTest, StopEndsAWaitingTailAsCancelled) {
  TailRequest r = Request(1, [] { return true; });
  int polls = 0;
  r.stop = [&] { return ++polls == 3; };
  EXPECT_TRUE(absl::IsCancelled(TailEvents(r, [](const v1::Event&) { return true; })));
}

}  // namespace
}  // namespace swarm
