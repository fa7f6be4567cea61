// Finding 5 of docs/SECURITY.md through the test gate: a patched test plants --test-report as a link
// to a file outside its tree, behind a directory link (which the gate used to follow when it removed
// a stale report, deleting a file outside), or as a FIFO (which blocked the coordinator forever).
// Unsandboxed: what is tested is the coordinator's own read after the run, not the sandbox.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "git/integration_repo.h"
#include "orchestrator/merge/test_gate.h"
#include "git/git.h"
#include "sandbox/unsandboxed_runner.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using ::swarm::testing::CommitAll;
using ::swarm::testing::InitRepo;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;
using ::swarm::testing::WriteFile;

constexpr char kSecretTest[] = "root_only_secret_test_name";

class GateReportAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(dir_ / "user");
    WriteFile(dir_ / "user/README", "x\n");
    // Committed in the tree: `out` is a link to a directory outside, holding a report.xml there.
    fs::create_directory_symlink(outside_.path(), dir_ / "user/out");
    CommitAll(dir_ / "user", "base");
    absl::StatusOr<Git> user = Git::Open(dir_ / "user");
    ASSERT_TRUE(user.ok()) << user.status();
    std::string head = testing::Trim(Sh("git -C " + (dir_ / "user") + " rev-parse HEAD"));
    tree_ = testing::Trim(Sh("git -C " + (dir_ / "user") + " rev-parse HEAD^{tree}"));
    absl::StatusOr<std::unique_ptr<IntegrationRepo>> repo = IntegrationRepo::Create(*user, dir_ / "integration", head);
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::move(*repo);
    for (const char* d : {"scratch", "logs", "ledger", "cache"}) fs::create_directories(dir_ / d);
    WriteFile(outside_ / "report.xml", std::string("<testcase classname=\"Root\" name=\"") + kSecretTest + "\"/>");
  }
  TestOutcome Run(const std::string& command, const std::string& report = "report.xml") {
    SandboxPolicy policy;
    policy.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
    policy.timeout = std::chrono::seconds(60);
    TestGate gate(runner_, policy, command, TestFormat::kJunit, report, *repo_, dir_ / "scratch", dir_ / "logs",
                  dir_ / "ledger", dir_ / "cache");
    absl::StatusOr<TestOutcome> outcome = gate.Test(tree_, "attack", /*use_cache=*/false);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? *outcome : TestOutcome{};
  }
  std::string Log(const TestOutcome& o) { return testing::ReadFile(o.log_path); }

  TempDir dir_;
  TempDir outside_;
  UnsandboxedRunner runner_;
  std::unique_ptr<IntegrationRepo> repo_;
  std::string tree_;
};

TEST_F(GateReportAttackTest, AReportLinkedToAFileOutsideLeaksNothing) {
  TestOutcome o = Run("ln -s " + (outside_ / "report.xml") + " report.xml");
  EXPECT_FALSE(o.passed);
  EXPECT_TRUE(o.results.tests.empty());
  EXPECT_NE(o.result.find("symlink"), std::string::npos) << o.result;
  EXPECT_NE(Log(o).find("\"report.xml\" is a symlink or lies behind one: ignored"), std::string::npos) << Log(o);
  EXPECT_EQ(Log(o).find(kSecretTest), std::string::npos);
}

TEST_F(GateReportAttackTest, AReportBehindADirectoryLinkIsNeitherReadNorRemoved) {
  TestOutcome o = Run("true", "out/report.xml");
  EXPECT_TRUE(o.results.tests.empty());
  EXPECT_NE(o.result.find("symlink"), std::string::npos) << o.result;
  EXPECT_TRUE(fs::exists(outside_ / "report.xml")) << "the gate removed a file outside the tree";
}

TEST_F(GateReportAttackTest, AReportThatIsAFifoDoesNotBlockTheGate) {
  TestOutcome o = Run("mkfifo report.xml");
  EXPECT_FALSE(o.passed);
  EXPECT_NE(o.result.find("FIFO"), std::string::npos) << o.result;
}

TEST_F(GateReportAttackTest, AnOrdinaryReportStillCounts) {
  TestOutcome o = Run("printf '<testcase classname=\"S\" name=\"t\"/>' > report.xml");
  EXPECT_TRUE(o.passed) << o.result;
  EXPECT_EQ(o.results.tests, (std::map<std::string, bool>{{"S.t", true}}));
}

}  // namespace
}  // namespace swarm
