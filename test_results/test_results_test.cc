#include "test_results/test_results.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

using Tests = std::map<std::string, bool>;

TEST(TestResultsTest, FormatsAreNamedNeverGuessed) {
  EXPECT_EQ(*ParseTestFormat("gtest"), TestFormat::kGtest);
  EXPECT_EQ(TestFormatName(*ParseTestFormat("unittest")), "unittest");
  absl::StatusOr<TestFormat> bad = ParseTestFormat("auto");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--test-format auto"), std::string::npos);
}

TEST(TestResultsTest, GoogleTestOutput) {
  TestResults r = ParseTestOutput(TestFormat::kGtest, R"([==========] Running 3 tests from 2 test suites.
[ RUN      ] Geometry.Area
[       OK ] Geometry.Area (0 ms)
[ RUN      ] Geometry.Perimeter
geometry_test.cc:12: Failure
[  FAILED  ] Geometry.Perimeter (1 ms)
[ RUN      ] Sizes/Param.Works/0
[       OK ] Sizes/Param.Works/0 (0 ms)
[  FAILED  ] 1 test, listed below:
[  FAILED  ] Geometry.Perimeter
[  FAILED  ] Sizes/Param.Fails/1, where GetParam() = 4
)");
  EXPECT_TRUE(r.ran);
  EXPECT_EQ(r.tests, (Tests{{"Geometry.Area", true}, {"Geometry.Perimeter", false}, {"Sizes/Param.Works/0", true},
                            {"Sizes/Param.Fails/1", false}}));
}

TEST(TestResultsTest, CtestOutput) {
  TestResults r = ParseTestOutput(TestFormat::kCtest, R"(Test project /src/build
    Start 1: area
1/4 Test #1: area .............................   Passed    0.01 sec
    Start 2: perimeter
2/4 Test #2: perimeter ........................***Failed    0.02 sec
3/4 Test #3: slow .............................***Timeout  10.00 sec
4/4 Test #4: later ............................***Skipped   0.00 sec
 10/12 Test #10: ProcessTest.Works .............   Passed    0.00 sec
)");
  EXPECT_EQ(r.tests, (Tests{{"area", true}, {"perimeter", false}, {"slow", false}, {"ProcessTest.Works", true}}));
}

TEST(TestResultsTest, PytestSummaryAndVerboseLines) {
  TestResults r = ParseTestOutput(TestFormat::kPytest, R"(tests/test_geo.py::test_area PASSED     [ 33%]
tests/test_geo.py::test_perimeter FAILED                                 [ 66%]
=========================== short test summary info ============================
PASSED tests/test_geo.py::test_area
FAILED tests/test_geo.py::test_perimeter - assert 3 == 4
ERROR tests/test_io.py::test_read[utf-8] - FileNotFoundError
SKIPPED [1] tests/test_io.py:9: no network
)");
  EXPECT_EQ(r.tests, (Tests{{"tests/test_geo.py::test_area", true},
                            {"tests/test_geo.py::test_perimeter", false},
                            {"tests/test_io.py::test_read[utf-8]", false}}));
}

TEST(TestResultsTest, UnittestVerboseOutputOldAndNewNames) {
  TestResults r = ParseTestOutput(TestFormat::kUnittest, R"(test_area (test_geo.GeoTest.test_area) ... ok
test_perimeter (test_geo.GeoTest) ... FAIL
test_read (test_io.IoTest.test_read)
Reads a file. ... ERROR
test_net (test_io.IoTest.test_net) ... skipped 'no network'
test_odd (test_geo.GeoTest.test_odd) ... expected failure

======================================================================
FAIL: test_perimeter (test_geo.GeoTest)
)");
  EXPECT_EQ(r.tests, (Tests{{"test_geo.GeoTest.test_area", true},
                            {"test_geo.GeoTest.test_perimeter", false},
                            {"test_io.IoTest.test_read", false},
                            {"test_geo.GeoTest.test_odd", true}}));
}

TEST(TestResultsTest, TapWithDirectivesAndBailOut) {
  TestResults r = ParseTestOutput(TestFormat::kTap, R"(TAP version 13
1..5
ok 1 - area
not ok 2 - perimeter
ok 3 - network # SKIP offline
not ok 4 - unicode # TODO not yet
ok 5
)");
  EXPECT_TRUE(r.ran);
  EXPECT_EQ(r.tests, (Tests{{"area", true}, {"perimeter", false}, {"unicode", true}, {"5", true}}));
  EXPECT_FALSE(ParseTestOutput(TestFormat::kTap, "1..2\nok 1 - a\nBail out! database down\n").Failing().empty());
  EXPECT_TRUE(ParseTestOutput(TestFormat::kTap, "1..0 # skipped everything\n").ran);
}

TEST(TestResultsTest, JunitReport) {
  TestResults r = ParseJunitReport(R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="geo" tests="4">
  <testcase classname="geo.Shapes" name="area" time="0.01"/>
  <testcase classname="geo.Shapes" name="perimeter &amp; more"><failure message="3 != 4">trace</failure></testcase>
  <testcase classname='geo.Io' name='read'><error type="IOError"/></testcase>
  <testcase classname="geo.Io" name="net"><skipped/></testcase>
  <testcase name="bare"></testcase>
</testsuite></testsuites>)");
  EXPECT_EQ(r.tests, (Tests{{"geo.Shapes.area", true}, {"geo.Shapes.perimeter & more", false},
                            {"geo.Io.read", false}, {"bare", true}}));
  EXPECT_FALSE(ParseJunitReport("<testsuites></testsuites>").ran);
}

TestResults Results(Tests tests) {
  TestResults r;
  r.ran = true;
  r.tests = std::move(tests);
  return r;
}

TEST(TestResultsTest, AFixLandsOnAFailingHead) {
  TestResults head = Results({{"a", true}, {"b", false}});
  Verdict v = JudgePerTest(head, Results({{"a", true}, {"b", true}}), 0, false, {"b"});
  EXPECT_TRUE(v.pass) << v.why;
  // Still failing b, exit non-zero, but b failed before: nothing got worse, and b is not required.
  EXPECT_TRUE(JudgePerTest(head, Results({{"a", true}, {"b", false}}), 1, false, {}).pass);
}

TEST(TestResultsTest, ARegressionARequiredTestOrAMissingTestFails) {
  TestResults head = Results({{"a", true}, {"b", false}});
  Verdict regression = JudgePerTest(head, Results({{"a", false}, {"b", false}}), 1, false, {});
  EXPECT_FALSE(regression.pass);
  EXPECT_NE(regression.why.find("a"), std::string::npos);
  EXPECT_FALSE(JudgePerTest(head, Results({{"a", true}, {"b", false}}), 1, false, {"b"}).pass);
  EXPECT_FALSE(JudgePerTest(head, Results({{"b", true}}), 0, false, {}).pass) << "a vanished";
}

TEST(TestResultsTest, SpoofsAndSilenceNeverPass) {
  TestResults head = Results({{"a", true}});
  // Prints that everything passed, exits non-zero: no failing test explains the exit.
  Verdict spoof = JudgePerTest(head, Results({{"a", true}}), 1, false, {});
  EXPECT_FALSE(spoof.pass);
  EXPECT_NE(spoof.why.find("exited 1"), std::string::npos);
  EXPECT_FALSE(JudgePerTest(head, TestResults{}, 0, false, {}).pass) << "no results, exit 0";
  EXPECT_FALSE(JudgePerTest(head, Results({{"a", true}}), 0, true, {}).pass) << "timed out";
  // Spoofed lines in another format are not results.
  EXPECT_FALSE(ParseTestOutput(TestFormat::kGtest, "PASS\nok 1 - a\nall tests passed\n").ran);
}


TEST(TestResultsTest, ARunnerThatDiesMidTestLeavesThatTestFailing) {
  TestResults gtest = ParseTestOutput(TestFormat::kGtest, "[ RUN      ] A.ok\n[       OK ] A.ok (0 ms)\n"
                                                          "[ RUN      ] A.crashes\n");
  EXPECT_EQ(gtest.tests, (Tests{{"A.ok", true}, {"A.crashes", false}}));
  TestResults tap = ParseTestOutput(TestFormat::kTap, "1..3\nok 1 - a\nok 2 - b\n");
  EXPECT_FALSE(tap.Failing().empty()) << "a plan of 3 with 2 results";
  // A run killed by a signal never passes, even if every test it printed passed.
  TestResults head = ParseTestOutput(TestFormat::kGtest, "[       OK ] A.ok (0 ms)\n[  FAILED  ] A.old (0 ms)\n");
  EXPECT_FALSE(JudgePerTest(head, head, 139, false, {}).pass);
}

TEST(TestResultsTest, UnittestWithOutputBetweenTheNameAndTheStatusAndWithSubtests) {
  TestResults r = ParseTestOutput(TestFormat::kUnittest, R"(test_log (m.T.test_log) ... hello from the test
ok
test_sub (m.T.test_sub) ...
  test_sub (m.T.test_sub) (i=1) ... FAIL
test_next (m.T.test_next) ... ok
)");
  EXPECT_EQ(r.tests, (Tests{{"m.T.test_log", true}, {"m.T.test_sub", false}, {"m.T.test_next", true}}));
}

TEST(TestResultsTest, PytestIdsWithSpacesXdistAndCtestDisabled) {
  TestResults p = ParseTestOutput(TestFormat::kPytest, "[gw0] [ 50%] PASSED t.py::test_p[a b]\n"
                                                       "t.py::test_q[x y] FAILED [100%]\n"
                                                       "FAILED t.py::test_q[x y] - assert 1 == 2\n");
  EXPECT_EQ(p.tests, (Tests{{"t.py::test_p[a b]", true}, {"t.py::test_q[x y]", false}}));
  TestResults c = ParseTestOutput(TestFormat::kCtest, "1/2 Test #1: a ....   Passed    0.01 sec\n"
                                                      "2/2 Test #2: b ....***Not Run (Disabled)   0.00 sec\n");
  EXPECT_EQ(c.tests, (Tests{{"a", true}}));
}

TEST(TestResultsTest, TapSubtestsAndYamlBlocksAreNotTopLevelResults) {
  TestResults r = ParseTestOutput(TestFormat::kTap, R"(TAP version 13
# Subtest: parent one
    ok 1 - child a
    1..1
ok 1 - parent one
not ok 2 - parent two
  ---
  ok: false
  ...
1..2
)");
  EXPECT_EQ(r.tests, (Tests{{"parent one", true}, {"parent two", false}}));
}

TEST(TestResultsTest, LongLinesAreReadOnTheirFirstFourKibibytes) {
  const std::string long_name(10000, 'x');
  TestResults r = ParseTestOutput(TestFormat::kTap, "ok 1 - " + long_name + "\nnot ok 2 - short\n");
  ASSERT_EQ(r.tests.size(), 2u);
  EXPECT_EQ(r.tests.rbegin()->first, std::string(4096 - 7, 'x')) << "the line is cut to 4096 bytes, then parsed";
  EXPECT_FALSE(r.tests.at("short"));
}

TEST(TestResultsTest, TapPlanTooLargeForANumberIsNotAPlan) {
  TestResults r = ParseTestOutput(TestFormat::kTap, "1..99999999999999999999999\nok 1 - a\n");
  EXPECT_TRUE(r.ran);
  EXPECT_EQ(r.tests, (Tests{{"a", true}}));
}

TEST(TestResultsTest, JunitEntitiesUnescapeOnceAndNamelessCasesAreNotTests) {
  TestResults r = ParseJunitReport(R"(<testcase classname="c" name="&amp;lt; &lt;&gt;&quot;&apos;&unknown;"/>
<testcase classname="c"/><testcase classname="c" name=""/>)");
  EXPECT_EQ(r.tests, (Tests{{"c.&lt; <>\"'&unknown;", true}}));
}

TEST(TestResultsTest, JunitCaseBodyEndsWhereTheNextCaseStarts) {
  TestResults r = ParseJunitReport(R"(<testcase name="open"><testcase name="failing"><failure/></testcase>)");
  EXPECT_EQ(r.tests, (Tests{{"open", true}, {"failing", false}}));
}

}  // namespace
}  // namespace swarm
