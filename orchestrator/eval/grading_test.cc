#include "orchestrator/eval/grading.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(TallyTest, APassMustBeSeenAndASkippedOrMissingTestIsNotOne) {
  TestResults r;
  r.ran = true;
  r.tests = {{"t::a", true}, {"t::b", false}};  // a skipped test is not listed
  TestTally tally = Tally(r, {"t::a", "t::b", "t::skipped"});
  EXPECT_EQ(tally.passed, std::vector<std::string>{"t::a"});
  EXPECT_EQ(tally.failed, (std::vector<std::string>{"t::b", "t::skipped"}));
}

TEST(TallyTest, AnIdCutAtASpaceMatchesEveryTestItStartsAndAllMustPass) {
  TestResults r;
  r.ran = true;
  r.tests = {{"t.py::test_x[a b]", true},
             {"t.py::test_x[a c]", true},
             {"t.py::test_y[a b]", true},
             {"t.py::test_y[a c]", false},
             {"t.py::test_zz", true}};
  TestTally tally = Tally(r, {"t.py::test_x[a", "t.py::test_y[a", "t.py::test_z"});
  EXPECT_EQ(tally.passed, std::vector<std::string>{"t.py::test_x[a"});
  // test_z is not test_zz: only a cut at a space matches by prefix.
  EXPECT_EQ(tally.failed, (std::vector<std::string>{"t.py::test_y[a", "t.py::test_z"}));
}

TEST(TallyTest, DjangosIdsMatchTheUnittestParsersNames) {
  TestResults r;
  r.ran = true;
  r.tests = {{"admin_views.tests.AdminViewTest.test_a", true}, {"admin_views.tests.AdminViewTest.test_b", false}};
  TestTally tally =
      Tally(r, {"test_a (admin_views.tests.AdminViewTest)", "test_b (admin_views.tests.AdminViewTest.test_b)",
                "test_c (admin_views.tests.AdminViewTest)"});
  EXPECT_EQ(tally.passed, std::vector<std::string>{"test_a (admin_views.tests.AdminViewTest)"});
  EXPECT_EQ(tally.failed.size(), 2u);
  EXPECT_EQ(Matched(r, {"test_a (admin_views.tests.AdminViewTest)", "test_c (admin_views.tests.AdminViewTest)"}), 1u);
}

}  // namespace
}  // namespace swarm
