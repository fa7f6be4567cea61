#include "orchestrator/run/model_call_bridge.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"

#include "models/fake_model_caller.h"

namespace swarm {
namespace {

class ModelCallBridgeTest : public ::testing::Test {
 protected:
  ModelCallBridgeTest() {
    bridge_.SetCaller(&caller_);
  }
  // The executor: tasks run when the test says.
  void RunPosted() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(posted_);
    }
    for (auto& t : tasks) t();
  }
  AgentHandler::CompleteDone Answer(const std::string& name) {
    return [this, name](absl::StatusOr<v1::ChatReply> reply) {
      answers_.push_back(name + ":" + (reply.ok() ? reply->finish_reason() : std::string(reply.status().message())));
    };
  }
  static v1::ChatReply Reply(const std::string& text) {
    v1::ChatReply r;
    r.set_finish_reason(text);
    return r;
  }

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::string> recorded_;  // "attempt.step" in record order
  std::vector<std::string> answers_;
  FakeModelCaller caller_;
  ModelCallBridge bridge_{[this](std::function<void()> task) {
                            std::lock_guard<std::mutex> lock(mu_);
                            posted_.push_back(std::move(task));
                          },
                          [this](const FinishedModelCall& c) {
                            // An agent is never answered before its call is recorded.
                            EXPECT_EQ(answers_.size(), recorded_.size());
                            recorded_.push_back(absl::StrCat(c.attempt, ".", c.step));
                          }};
};

TEST_F(ModelCallBridgeTest, ACallIsRecordedOnTheExecutorBeforeItsAgentIsAnswered) {
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("a"));
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("b"));
  ASSERT_EQ(caller_.open().size(), 2u);
  // The gateway's thread finishes the second call first.
  std::thread gateway([&] { caller_.Finish(2, Reply("two")); });
  gateway.join();
  EXPECT_TRUE(answers_.empty()) << "answered off the executor";
  RunPosted();
  EXPECT_EQ(recorded_, (std::vector<std::string>{"1.2"}));
  EXPECT_EQ(answers_, (std::vector<std::string>{"b:two"}));
  caller_.Finish(1, Reply("one"));
  RunPosted();
  EXPECT_EQ(recorded_, (std::vector<std::string>{"1.2", "1.1"}));
  EXPECT_EQ(answers_, (std::vector<std::string>{"b:two", "a:one"}));
  EXPECT_EQ(bridge_.waiting(), 0u);
}

TEST_F(ModelCallBridgeTest, StepsCountPerLeaseAndStartAgainForANewLease) {
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("a"));
  bridge_.Start("s2#1-y", "s2", 1, {}, Answer("b"));
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("c"));
  bridge_.EndLease("s1#1-x");
  bridge_.Start("s1#2-z", "s1", 2, {}, Answer("d"));
  for (std::uint64_t id : {1, 2, 3, 4}) caller_.Finish(id, Reply("r"));
  RunPosted();
  EXPECT_EQ(recorded_, (std::vector<std::string>{"1.1", "1.1", "1.2", "2.1"}));
}

TEST_F(ModelCallBridgeTest, AnEndedLeaseCancelsItsCallsAndOnlyItsOwn) {
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("a"));
  bridge_.Start("s2#1-y", "s2", 1, {}, Answer("b"));
  bridge_.EndLease("s1#1-x");
  EXPECT_EQ(caller_.cancelled(), (std::set<std::uint64_t>{1}));
  // The gateway still ends the cancelled call; its agent is answered (it may be gone already).
  caller_.Finish(1, absl::CancelledError("cancelled"));
  RunPosted();
  EXPECT_EQ(answers_, (std::vector<std::string>{"a:cancelled"}));
}

TEST_F(ModelCallBridgeTest, AtTheEndEveryWaitingAgentIsAnsweredOnce) {
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("a"));
  bridge_.Start("s2#1-y", "s2", 1, {}, Answer("b"));
  caller_.Finish(1, Reply("done"));  // finished, but the executor has stopped: posted, never run
  bridge_.SetCaller(nullptr);
  bridge_.Drain();
  bridge_.AnswerWaiting(absl::CancelledError("the run is finishing"));
  EXPECT_EQ(answers_, (std::vector<std::string>{"a:done", "b:the run is finishing"}));
  EXPECT_EQ(recorded_.size(), 1u);
  bridge_.AnswerWaiting(absl::CancelledError("again"));
  EXPECT_EQ(answers_.size(), 2u);
}

TEST_F(ModelCallBridgeTest, WithoutACallerTheAgentIsToldAtOnce) {
  bridge_.SetCaller(nullptr);
  bridge_.Start("s1#1-x", "s1", 1, {}, Answer("a"));
  EXPECT_EQ(answers_, (std::vector<std::string>{"a:this run has no model"}));
}

}  // namespace
}  // namespace swarm
