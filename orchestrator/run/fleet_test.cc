// The fleet alone: fake host channels, a fake clock, a real scheduler and rework policy, and hooks
// that record what the fleet asked of the run. No socket, no process, no sleep.
#include "orchestrator/run/fleet.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/plan/plan.h"
#include "orchestrator/run/fake_host_channel.h"
#include "swarm/v1/protocol.h"

namespace swarm {
namespace {

using std::chrono::seconds;

constexpr char kPlan[] = R"({"subtasks": [
  {"id": "a", "title": "A", "instructions": "", "files": ["a.txt"]},
  {"id": "b", "title": "B", "instructions": "", "files": ["b.txt"]},
  {"id": "c", "title": "C", "instructions": "", "files": ["c.txt"]}]})";

Plan ThePlan() {
  absl::StatusOr<Plan> plan = ParsePlan(kPlan, "plan.json");
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : Plan{};
}

class FleetTest : public ::testing::Test {
 protected:
  FleetTest() : plan_(ThePlan()), scheduler_(plan_, /*max_attempts=*/3), rework_(1, 1) {
    Fleet::Hooks hooks{
        .emit = [this](v1::Event e) { events_.push_back(std::move(e)); },
        .ending = [this] { return ending_; },
        .may_lease = [this] { return may_lease_; },
        .head = [](const std::string&) { return std::string("head-1"); },
        .registration =
            [] {
              v1::CoordinatorMessage m;
              m.mutable_registered()->set_run_id("run-1");
              return m;
            },
        .lease_ended = [this](const std::string& lease_id) { ended_.push_back(lease_id); },
        .attempt_failed = [this](const Lease& lease,
                                 const std::string& reason) { failed_.push_back(lease.subtask_id + ": " + reason); },
        .host_lost = [this](const std::string& host_id) { lost_.push_back(host_id); },
        .say = [this](const std::string& line) { said_.push_back(line); },
        .changed = [this] { ++changed_; }};
    fleet_ = std::make_unique<Fleet>(clock_, seconds(30), scheduler_, rework_, std::move(hooks));
  }

  std::shared_ptr<FakeHostChannel> Register(const std::string& host_id, std::uint32_t slots,
                                            std::uint32_t protocol = kAgentProtocolVersion) {
    auto channel = std::make_shared<FakeHostChannel>(++next_channel_);
    v1::Register reg;
    reg.set_host_id(host_id);
    reg.set_slots(slots);
    reg.set_protocol(protocol);
    fleet_->Register(channel, reg);
    return channel;
  }

  // The leases `channel` was sent, in order.
  static std::vector<v1::Lease> Leases(const FakeHostChannel& channel) {
    std::vector<v1::Lease> leases;
    for (const auto& m : channel.sent()) {
      if (m.has_lease()) leases.push_back(m.lease());
    }
    return leases;
  }

  static std::optional<std::string> GoodbyeOf(const FakeHostChannel& channel) {
    for (const auto& m : channel.sent()) {
      if (m.has_shutdown()) return m.shutdown().reason();
    }
    return std::nullopt;
  }

  int Count(bool (v1::Event::*has)() const) const {
    int n = 0;
    for (const auto& e : events_) n += (e.*has)();
    return n;
  }

  Plan plan_;
  Scheduler scheduler_;
  ReworkPolicy rework_;
  FakeClock clock_;
  std::unique_ptr<Fleet> fleet_;
  std::vector<v1::Event> events_;
  std::vector<std::string> ended_, failed_, lost_, said_;
  std::optional<std::string> ending_;
  bool may_lease_ = true;
  int changed_ = 0;
  std::uint64_t next_channel_ = 0;
};

TEST_F(FleetTest, AHostIsRegisteredThenGivenAsManyLeasesAsItAskedFor) {
  auto host = Register("h1", 4);
  ASSERT_EQ(host->sent().size(), 1u);
  EXPECT_TRUE(host->sent()[0].has_registered());
  EXPECT_EQ(Count(&v1::Event::has_agent_registered), 1);
  EXPECT_TRUE(Leases(*host).empty());  // registered is not asking

  fleet_->Ready(host, 2);
  std::vector<v1::Lease> leases = Leases(*host);
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].subtask().id(), "a");
  EXPECT_EQ(leases[0].base_commit(), "head-1");
  EXPECT_EQ(leases[0].attempt(), 1u);
  EXPECT_LT(leases[0].fence(), leases[1].fence());
  EXPECT_EQ(Count(&v1::Event::has_subtask_leased), 2);
  EXPECT_EQ(fleet_->leases().leases().size(), 2u);
}

TEST_F(FleetTest, TheHostThatAskedForMostGoesFirstAndNoneIsGivenWhatItDidNotAskFor) {
  auto small = Register("small", 4);
  auto big = Register("big", 4);
  may_lease_ = false;  // let both ask before anything is given
  fleet_->Ready(small, 1);
  fleet_->Ready(big, 3);
  EXPECT_TRUE(Leases(*small).empty());
  may_lease_ = true;
  fleet_->Dispatch();
  EXPECT_EQ(Leases(*big).size(), 2u);    // a, then b; then both have asked for one more...
  EXPECT_EQ(Leases(*small).size(), 1u);  // ...and the first registered takes c
}

TEST_F(FleetTest, BadRegistrationsAreRefusedAndToldWhy) {
  auto old = Register("old", 2, /*protocol=*/1);
  EXPECT_EQ(GoodbyeOf(*old), "refused: protocol or slot count");
  EXPECT_TRUE(old->closed());
  auto none = Register("none", 0);
  EXPECT_EQ(GoodbyeOf(*none), "refused: protocol or slot count");
  auto first = Register("h1", 1);
  auto twin = Register("h1", 1);  // a live host's id: its end must not take h1 down
  ASSERT_TRUE(GoodbyeOf(*twin).has_value());
  EXPECT_NE(GoodbyeOf(*twin)->find("refused"), std::string::npos);
  EXPECT_FALSE(first->closed());
  EXPECT_EQ(said_.size(), 3u);
  EXPECT_EQ(Count(&v1::Event::has_agent_registered), 1);
}

TEST_F(FleetTest, AFinishingRunTakesNoHostAndGivesNoLease) {
  auto host = Register("h1", 2);
  ending_ = "stopped: the run finished";
  fleet_->Ready(host, 2);
  EXPECT_TRUE(Leases(*host).empty());
  auto late = Register("late", 2);
  EXPECT_EQ(GoodbyeOf(*late), "the run is finishing");
  EXPECT_TRUE(late->closed());
}

TEST_F(FleetTest, ASilentHostsLeasesExpireAndItGetsNoMoreUntilItHeartbeats) {
  auto host = Register("h1", 2);
  fleet_->Ready(host, 1);
  ASSERT_EQ(Leases(*host).size(), 1u);
  const std::string lease_id = Leases(*host)[0].lease_id();
  clock_.Advance(seconds(31));
  fleet_->ExpireLeases();
  ASSERT_EQ(failed_.size(), 1u);
  EXPECT_EQ(failed_[0], "a: lease expired: no heartbeat from h1");
  EXPECT_EQ(ended_, std::vector<std::string>{lease_id});
  EXPECT_EQ(Count(&v1::Event::has_lease_expired), 1);
  bool cancelled = false;
  for (const auto& m : host->sent()) cancelled |= m.has_cancel() && m.cancel().lease_id() == lease_id;
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(changed_, 1);

  scheduler_.AttemptFailed("a");  // as the coordinator does: a is ready again
  fleet_->Ready(host, 1);
  EXPECT_EQ(Leases(*host).size(), 1u);  // silent: nothing new
  v1::Heartbeat beat;
  fleet_->Heartbeat(host, beat);
  EXPECT_EQ(Leases(*host).size(), 2u);  // back: it gets what it asked for
}

TEST_F(FleetTest, AResultUnderALeaseThatIsNotCurrentIsRefused) {
  auto host = Register("h1", 1);
  fleet_->Ready(host, 1);
  const v1::Lease lease = Leases(*host)[0];
  v1::AttemptResult stale;
  stale.set_lease_id(lease.lease_id());
  stale.set_fence(lease.fence() + 1);
  EXPECT_FALSE(fleet_->TakeForResult(host, stale).has_value());
  EXPECT_EQ(Count(&v1::Event::has_result_refused), 1);
  EXPECT_TRUE(ended_.empty());

  auto other = Register("h2", 1);
  v1::AttemptResult current = stale;
  current.set_fence(lease.fence());
  EXPECT_FALSE(fleet_->TakeForResult(other, current).has_value());  // not its lease
  std::optional<Lease> taken = fleet_->TakeForResult(host, current);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->subtask_id, "a");
  EXPECT_EQ(ended_, std::vector<std::string>{lease.lease_id()});
  EXPECT_TRUE(fleet_->leases().empty());
}

TEST_F(FleetTest, AHostThatGoesAwayFailsItsAttemptsOrCutsThemShortWhenTheRunEnds) {
  auto host = Register("h1", 2);
  fleet_->Ready(host, 2);
  fleet_->HostGone(host);
  EXPECT_EQ(lost_, std::vector<std::string>{"h1"});
  ASSERT_EQ(failed_.size(), 2u);
  EXPECT_EQ(failed_[0], "a: agent host h1 went away");
  EXPECT_EQ(Count(&v1::Event::has_attempt_finished), 2);
  EXPECT_EQ(ended_.size(), 2u);

  auto second = Register("h2", 1);
  fleet_->Ready(second, 1);
  ending_ = "cancelled: the user asked";
  fleet_->HostGone(second);
  EXPECT_EQ(failed_.size(), 2u);  // not retried
  EXPECT_EQ(events_.back().attempt_finished().error(), "cancelled: the user asked");
  fleet_->HostGone(second);  // gone once only
  EXPECT_EQ(lost_.size(), 2u);
}

TEST_F(FleetTest, ALeaseTellsTheConflictOnceAndTheFailureUntilAPatchComes) {
  auto host = Register("h1", 3);
  rework_.Rebase("a", R"({"files": ["a.txt"]})");
  rework_.FixUp("b", R"({"log": "FAIL"})");
  fleet_->Ready(host, 2);
  std::vector<v1::Lease> leases = Leases(*host);
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].conflict_json(), R"({"files": ["a.txt"]})");
  EXPECT_EQ(leases[1].failure_json(), R"({"log": "FAIL"})");
  EXPECT_FALSE(rework_.TakeConflict("a").has_value());
  EXPECT_NE(rework_.failure("b"), nullptr);
}

TEST_F(FleetTest, TheReportNamesTheSlowestWorkspacesAnyHostMade) {
  auto h1 = Register("h1", 1);
  auto h2 = Register("h2", 1);
  v1::WorkspaceKind overlay;
  overlay.set_overlay(true);
  v1::WorkspaceKind clone;
  clone.set_why_not_overlay("no overlayfs");
  fleet_->NoteWorkspaces(h1, overlay);
  EXPECT_EQ(fleet_->workspace_kind(), "overlay");
  fleet_->NoteWorkspaces(h2, clone);
  fleet_->NoteWorkspaces(h1, overlay);
  EXPECT_EQ(fleet_->workspace_kind(), "clone");
  ASSERT_EQ(said_.size(), 1u);
  EXPECT_NE(said_[0].find("no overlayfs"), std::string::npos);
}

TEST_F(FleetTest, AHeartbeatFromAHostThatWasNotSilentGivesNothing) {
  auto host = Register("h1", 2);
  may_lease_ = false;
  fleet_->Ready(host, 1);
  may_lease_ = true;
  v1::Heartbeat beat;
  fleet_->Heartbeat(host, beat);
  EXPECT_TRUE(Leases(*host).empty());  // only a host back from silence is dispatched to
  fleet_->Dispatch();
  EXPECT_EQ(Leases(*host).size(), 1u);
}

TEST_F(FleetTest, GoodbyeReachesEveryHost) {
  auto h1 = Register("h1", 1);
  auto h2 = Register("h2", 1);
  fleet_->SayGoodbye("run finished");
  EXPECT_EQ(GoodbyeOf(*h1), "run finished");
  EXPECT_EQ(GoodbyeOf(*h2), "run finished");
  EXPECT_TRUE(h1->closed() && h2->closed());
}

}  // namespace
}  // namespace swarm
