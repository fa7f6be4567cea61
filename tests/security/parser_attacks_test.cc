// Findings 5, 10 and 11 of docs/SECURITY.md, played by the attacker: a model's regular expression on
// the host (the LLM agent's search), a patched test's output parsed by the coordinator (every text
// format and JUnit), and a patched test's --test-report that is a link, a FIFO, a directory or huge
// (read by sandbox/beneath.h; test_report_attack_test.cc plays it through the test gate). Each test
// fails before the fix by crashing (std::regex recursion), stalling past ctest's time-out
// (backtracking, quadratic scans, a FIFO), or reading a file outside the test tree.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "test_results/test_results.h"
#include "sandbox/beneath.h"
#include "testing/test_util.h"
#include "tools/file_tools.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;

constexpr std::size_t kTenMegabytes = 10 << 20;
constexpr char kSecretTest[] = "root_only_secret_test_name";

// ---- Finding 10: the search tool's regular expression runs on the host.

TEST(SearchAttackTest, CatastrophicBacktrackingPatternFinishesWithTheRightAnswer) {
  TempDir dir;
  const std::string root = fs::canonical(dir.path()).string();
  WriteFile(root + "/evil.txt", std::string(40, 'a') + "b\n" + std::string(40, 'a') + "\n");
  // With std::regex this takes about 2^40 steps; the attempt's deadline here is generous and only
  // proves the search still ends on its own.
  SearchLimits limits;
  limits.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  absl::StatusOr<std::string> r = Search(root, "^(a|a)*$", ".", limits);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "evil.txt:2: " + std::string(40, 'a') + "\n");
}

TEST(SearchAttackTest, NestedQuantifiersOverALongLineFinish) {
  TempDir dir;
  const std::string root = fs::canonical(dir.path()).string();
  WriteFile(root + "/min.js", std::string(500000, 'a') + "!\n");
  absl::StatusOr<std::string> r = Search(root, "(a+)+$");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "no matches\n");
}

// ---- Finding 11: the test gate's parsers run on output a patched test chooses.

struct FormatCase {
  TestFormat format;
  std::string pass_line;    // a passing test named "first"
  std::string fail_line;    // a failing test named "last"
  std::string hostile;      // the start of a line the patch makes 10 MB long
  std::string first, last;  // the names the format gives them
};

std::vector<FormatCase> Formats() {
  return {
      {TestFormat::kGtest, "[ RUN      ] S.first\n[       OK ] S.first (0 ms)", "[ RUN      ] S.last\n[  FAILED  ] S.last (1 ms)",
       "[       OK ] S.", "S.first", "S.last"},
      {TestFormat::kCtest, "1/2 Test #1: first ......   Passed    0.01 sec",
       "2/2 Test #2: last .......***Failed    0.01 sec", "3/3 Test  #3: ", "first", "last"},
      {TestFormat::kPytest, "PASSED t.py::first", "FAILED t.py::last - assert 0", "PASSED t.py::", "t.py::first",
       "t.py::last"},
      {TestFormat::kUnittest, "test_first (m.C.test_first) ... ok", "test_last (m.C.test_last) ... FAIL", "   ",
       "m.C.test_first", "m.C.test_last"},
      {TestFormat::kTap, "ok 1 - first", "not ok 2 - last", "ok 3 - ", "first", "last"},
  };
}

void ExpectFirstPassesLastFails(const TestResults& r, const FormatCase& c) {
  EXPECT_TRUE(r.ran);
  ASSERT_TRUE(r.tests.count(c.first)) << TestFormatName(c.format);
  ASSERT_TRUE(r.tests.count(c.last)) << TestFormatName(c.format);
  EXPECT_TRUE(r.tests.at(c.first)) << TestFormatName(c.format);
  EXPECT_FALSE(r.tests.at(c.last)) << TestFormatName(c.format);
  for (const auto& [name, passed] : r.tests) EXPECT_LE(name.size(), 4096u) << TestFormatName(c.format);
}

TEST(TestOutputAttackTest, ATenMegabyteLineInEveryFormat) {
  for (const FormatCase& c : Formats()) {
    for (char filler : {'x', ' ', '.', '*'}) {
      const std::string output =
          c.pass_line + "\n" + c.hostile + std::string(kTenMegabytes, filler) + "\n" + c.fail_line + "\n";
      ExpectFirstPassesLastFails(ParseTestOutput(c.format, output), c);
    }
  }
}

TEST(TestOutputAttackTest, AMillionLinesInEveryFormat) {
  for (const FormatCase& c : Formats()) {
    std::string output = c.pass_line + "\n";
    output.reserve(12 << 20);
    for (int i = 0; i < 1000000; ++i) output += i % 2 ? "noise ... \n" : "\r\n";
    output += c.fail_line + "\n";
    ExpectFirstPassesLastFails(ParseTestOutput(c.format, output), c);
  }
}

TEST(TestOutputAttackTest, SixtyFourMebibytesOfNewlines) {
  for (const FormatCase& c : Formats()) EXPECT_FALSE(ParseTestOutput(c.format, std::string(64 << 20, '\n')).ran);
}

TEST(JunitAttackTest, ATenMegabyteAttribute) {
  const std::string xml = R"(<testsuite><testcase classname="S" name="first"/><testcase classname="S" name=")" +
                          std::string(kTenMegabytes, 'x') + R"(" file="a"/>
<testcase classname="S" name='last'><failure message="no"/></testcase></testsuite>)";
  TestResults r = ParseJunitReport(xml);
  EXPECT_EQ(r.tests, (std::map<std::string, bool>{{"S.first", true}, {"S.last", false}}));
}

TEST(JunitAttackTest, ATenMegabyteRunOfEntities) {
  std::string amps;
  for (int i = 0; i < 2000000; ++i) amps += "&amp;";
  TestResults r = ParseJunitReport(R"(<testcase classname="S" name=")" + amps + R"("/>
<testcase classname="S" name="last"><failure/></testcase>)");
  EXPECT_FALSE(r.tests.at("S.last"));
}

TEST(JunitAttackTest, DeeplyRepeatedUnclosedTags) {
  std::string xml = R"(<testcase classname="S" name="first"/>)";
  for (int i = 0; i < 500000; ++i) xml += R"(<testcase name="open">)";
  for (int i = 0; i < 500000; ++i) xml += "<testcase";
  xml += R"(><testcase name="last"><failure/>)";
  TestResults r = ParseJunitReport(xml);
  EXPECT_TRUE(r.tests.at("S.first"));
  EXPECT_TRUE(r.tests.at("open"));
  EXPECT_FALSE(r.tests.at("last"));
}

TEST(JunitAttackTest, ATenMegabyteBodyOfFailures) {
  std::string xml = R"(<testcase classname="S" name="first">)";
  for (int i = 0; i < 1000000; ++i) xml += "<failure";
  xml += "</testcase>";
  EXPECT_FALSE(ParseJunitReport(xml).tests.at("S.first"));
}

// ---- Finding 5: --test-report is followed on the host.

class ReportAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(outside_ / "report.xml", std::string("<testcase classname=\"Root\" name=\"") + kSecretTest + "\"/>");
  }
  TempDir tree_;
  TempDir outside_;
};

TEST_F(ReportAttackTest, ASymlinkToAFileOutsideIsNotRead) {
  fs::create_symlink(outside_ / "report.xml", tree_ / "report.xml");
  absl::StatusOr<std::string> r = ReadFileBeneath(tree_.path(), "report.xml", 64 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symlink"), std::string::npos) << r.status();
  EXPECT_EQ(r.status().message().find(kSecretTest), std::string::npos);
}

TEST_F(ReportAttackTest, AFifoFailsAtOnceInsteadOfBlocking) {
  ASSERT_EQ(mkfifo((tree_ / "report.xml").c_str(), 0600), 0);
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "report.xml", 64 << 20).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReportAttackTest, ADirectoryOrAnOversizedFileIsRefused) {
  fs::create_directory(tree_ / "report.xml");
  EXPECT_FALSE(ReadFileBeneath(tree_.path(), "report.xml", 64 << 20).ok());
  WriteFile(tree_ / "big.xml", std::string(1 << 20, ' '));
  EXPECT_EQ(ReadFileBeneath(tree_.path(), "big.xml", (1 << 20) - 1).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(ReportAttackTest, ARegularFileInsideIsRead) {
  WriteFile(tree_ / "report.xml", "<testcase name=\"t\"/>");
  EXPECT_EQ(*ReadFileBeneath(tree_.path(), "report.xml", 64 << 20), "<testcase name=\"t\"/>");
}

}  // namespace
}  // namespace swarm
