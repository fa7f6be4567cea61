#include "orchestrator/run/lease_table.h"

#include <gtest/gtest.h>

#include "orchestrator/run/fake_host_channel.h"

namespace swarm {
namespace {

using std::chrono::seconds;

class LeaseTableTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeHostChannel> Host(std::uint64_t id, const std::string& name, int slots) {
    auto channel = std::make_shared<FakeHostChannel>(id);
    EXPECT_TRUE(table_.AddHost(channel, name, slots).ok());
    table_.AddReady(id, slots);  // as a host does once registered
    return channel;
  }

  FakeClock clock_;
  LeaseTable table_{clock_, seconds(30)};
};

TEST_F(LeaseTableTest, RegistrationRefusesEmptyIdsNoSlotsAndADuplicateIdOrConnection) {
  auto a = std::make_shared<FakeHostChannel>(1);
  EXPECT_EQ(table_.AddHost(a, "", 4).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table_.AddHost(a, "host-1", 0).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(table_.AddHost(a, "host-1", 4).ok());
  EXPECT_EQ(table_.AddHost(a, "host-2", 4).code(), absl::StatusCode::kAlreadyExists);
  auto impostor = std::make_shared<FakeHostChannel>(2);
  absl::Status st = table_.AddHost(impostor, "host-1", 4);
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(st.message(), "host id already registered");
  EXPECT_EQ(table_.host_id(2), "");
  EXPECT_EQ(table_.host_id(1), "host-1");
}

TEST_F(LeaseTableTest, TheHostWithTheMostFreeSlotsTakesTheNextLeaseAndFullHostsNone) {
  auto a = Host(1, "host-1", 2);
  auto b = Host(2, "host-2", 1);
  ASSERT_EQ(table_.PickHost(), a);
  table_.Grant(1, "s1", 1, "base", "x1");
  // Both have one free slot: the first registered wins the tie.
  ASSERT_EQ(table_.PickHost(), a);
  table_.Grant(1, "s2", 1, "base", "x2");
  ASSERT_EQ(table_.PickHost(), b);
  table_.Grant(2, "s3", 1, "base", "x3");
  EXPECT_EQ(table_.PickHost(), nullptr);
  EXPECT_EQ(table_.leases().size(), 3u);
}

TEST_F(LeaseTableTest, FencesGrowAndAResultCountsOnlyWithItsFenceFromItsHost) {
  Host(1, "host-1", 2);
  Host(2, "host-2", 2);
  std::string first = table_.Grant(1, "s1", 1, "base", "aaaa");
  std::string second = table_.Grant(1, "s2", 3, "base", "bbbb");
  EXPECT_EQ(first, "s1#1-aaaa");
  EXPECT_EQ(second, "s2#3-bbbb");
  EXPECT_EQ(table_.leases().at(first).fence, 1u);
  EXPECT_EQ(table_.leases().at(second).fence, 2u);
  EXPECT_EQ(table_.TakeForResult(first, 2, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(table_.TakeForResult(first, 1, 2).status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Lease> taken = table_.TakeForResult(first, 1, 1);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->subtask_id, "s1");
  EXPECT_EQ(table_.TakeForResult(first, 1, 1).status().code(), absl::StatusCode::kNotFound);  // once only
  EXPECT_EQ(table_.Find(second, 2)->subtask_id, "s2");
  EXPECT_EQ(table_.Find(second, 1), nullptr);
}

TEST_F(LeaseTableTest, AnAgentsActivityIsKeptOnItsLeaseOnlyFromItsHostUnderItsFence) {
  Host(1, "host-1", 2);
  Host(2, "host-2", 2);
  const std::string id = table_.Grant(1, "s1", 1, "base", "aaaa");
  EXPECT_GT(table_.leases().at(id).granted_unix_ms, 0);
  auto progress = [&](std::uint64_t fence, std::string action) {
    v1::Progress p;
    p.set_lease_id(id);
    p.set_fence(fence);
    p.set_step(3);
    p.set_message(std::move(action));
    return p;
  };
  EXPECT_EQ(table_.NoteProgress(2, progress(1, "another host's word")), nullptr);
  EXPECT_EQ(table_.NoteProgress(1, progress(7, "a stale fence")), nullptr);
  EXPECT_TRUE(table_.leases().at(id).action.empty());
  const Lease* lease = table_.NoteProgress(1, progress(1, "edit: a.c\n\033[2J" + std::string(500, 'x')));
  ASSERT_NE(lease, nullptr);
  EXPECT_EQ(lease->step, 3u);
  EXPECT_EQ(lease->action.size(), 200u);  // one line, capped
  EXPECT_EQ(lease->action.find_first_of("\n\033"), std::string::npos) << lease->action;
  EXPECT_GT(lease->action_unix_ms, 0);
  table_.End(id);
  EXPECT_EQ(table_.NoteProgress(1, progress(1, "after the end")), nullptr);
}

TEST_F(LeaseTableTest, ALeaseExpiresWithoutHeartbeatsAndItsHostTakesNoMoreUntilItHeartbeats) {
  Host(1, "host-1", 4);
  std::string kept = table_.Grant(1, "s1", 1, "base", "a");
  std::string lost = table_.Grant(1, "s2", 1, "base", "b");
  clock_.Advance(seconds(20));
  EXPECT_FALSE(table_.Heartbeat(1, {kept, "unknown"}));  // renews only `kept`
  EXPECT_TRUE(table_.Expire().empty());
  clock_.Advance(seconds(10));  // `lost` reaches its deadline; `kept` has 20 s left
  std::vector<LeaseTable::Expired> expired = table_.Expire();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].lease_id, lost);
  EXPECT_EQ(expired[0].host_id, "host-1");
  EXPECT_EQ(expired[0].channel->id(), 1u);
  EXPECT_EQ(table_.Find(lost, 2), nullptr);
  EXPECT_EQ(table_.PickHost(), nullptr);  // silent: its leases lapsed
  EXPECT_TRUE(table_.Heartbeat(1, {kept}));
  EXPECT_NE(table_.PickHost(), nullptr);
  // A late result for the expired lease is refused.
  EXPECT_EQ(table_.TakeForResult(lost, 2, 1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LeaseTableTest, AHeartbeatDoesNotRenewAnotherHostsLease) {
  Host(1, "host-1", 1);
  Host(2, "host-2", 1);
  std::string lease = table_.Grant(1, "s1", 1, "base", "a");
  clock_.Advance(seconds(29));
  table_.Heartbeat(2, {lease});
  clock_.Advance(seconds(1));
  ASSERT_EQ(table_.Expire().size(), 1u);
}

TEST_F(LeaseTableTest, AGoneHostReturnsItsLeasesAndItsIdIsFreeAgain) {
  Host(1, "host-1", 2);
  std::string a = table_.Grant(1, "s1", 1, "base", "a");
  std::string b = table_.Grant(1, "s2", 1, "base", "b");
  std::optional<LeaseTable::GoneHost> gone = table_.RemoveHost(1);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->host_id, "host-1");
  ASSERT_EQ(gone->leases.size(), 2u);
  EXPECT_EQ(gone->leases[0].first, a);
  EXPECT_EQ(gone->leases[1].first, b);
  EXPECT_TRUE(table_.empty());
  EXPECT_FALSE(table_.RemoveHost(1).has_value());
  EXPECT_TRUE(table_.AddHost(std::make_shared<FakeHostChannel>(3), "host-1", 1).ok());
}

TEST_F(LeaseTableTest, EndFreesTheSlotAndAResumedRunContinuesTheFenceSequence) {
  Host(1, "host-1", 1);
  table_.RestoreFence(41);
  std::string lease = table_.Grant(1, "s1", 2, "base", "a");
  EXPECT_EQ(table_.leases().at(lease).fence, 42u);
  EXPECT_EQ(table_.PickHost(), nullptr);
  table_.End(lease);
  EXPECT_EQ(table_.PickHost(), nullptr);  // until the host asks again
  table_.AddReady(1, 1);
  EXPECT_NE(table_.PickHost(), nullptr);
  EXPECT_EQ(table_.last_fence(), 42u);
}

TEST_F(LeaseTableTest, AHostGetsOnlyTheLeasesItAskedForAndNeverMoreThanItsSlots) {
  auto a = std::make_shared<FakeHostChannel>(1);
  ASSERT_TRUE(table_.AddHost(a, "host-1", 3).ok());
  EXPECT_EQ(table_.PickHost(), nullptr);  // registered, but it asked for nothing
  table_.AddReady(1, 1);
  ASSERT_EQ(table_.PickHost(), a);
  table_.Grant(1, "s1", 1, "base", "a");
  EXPECT_EQ(table_.PickHost(), nullptr);  // it asked for one
  table_.AddReady(1, 100);                // more than its slots: capped at the two still free
  EXPECT_EQ(table_.ready(1), 2);
  table_.Grant(1, "s2", 1, "base", "b");
  table_.Grant(1, "s3", 1, "base", "c");
  EXPECT_EQ(table_.PickHost(), nullptr);
  table_.AddReady(1, 1);  // full: owed nothing
  EXPECT_EQ(table_.ready(1), 0);
  table_.AddReady(7, 1);  // no such host: ignored
  EXPECT_EQ(table_.ready(7), 0);
}

TEST_F(LeaseTableTest, AHostAskingForMoreGetsTheNextLease) {
  Host(1, "host-1", 1);
  auto b = Host(2, "host-2", 4);
  EXPECT_EQ(table_.PickHost(), b);
}

// The gRPC thread renews through liveness() as the heartbeat arrives: a coordinator whose executor
// is busy (the heartbeat's own message still queued) does not expire the lease.
TEST_F(LeaseTableTest, ARenewalRecordedAsTheHeartbeatArrivesKeepsTheLease) {
  Host(1, "host-1", 2);
  std::string lease = table_.Grant(1, "s1", 1, "base", "a");
  clock_.Advance(seconds(25));
  table_.liveness()->Renew(1, std::vector<std::string>{lease});
  clock_.Advance(seconds(25));
  EXPECT_TRUE(table_.Expire().empty());
  table_.liveness()->Renew(2, std::vector<std::string>{lease});  // not its host
  clock_.Advance(seconds(5));
  EXPECT_EQ(table_.Expire().size(), 1u);
  EXPECT_FALSE(table_.liveness()->LastRenewed(lease).has_value());  // forgotten with the lease
}

}  // namespace
}  // namespace swarm
