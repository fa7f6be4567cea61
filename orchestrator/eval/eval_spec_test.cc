#include "orchestrator/eval/eval_spec.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(EvalSpecTest, ReadsTheIssuesExample) {
  absl::StatusOr<EvalSpec> spec = ParseEvalSpec(R"(
[repo."pytest-dev/pytest"]
test_cmd = "python -m pytest -rA {tests}"
test_format = "pytest"
setup = ["printf 'version = \"{version}.0.dev0\"\n' > src/_pytest/_version.py"]
env = ["PYTHONPATH=src", "PATH=/opt/venvs/pytest/bin:/usr/bin:/bin"]
ro_bind = ["/opt/venvs/pytest"]

[repo."acme/lib"]
test_cmd = "make check"
test_format = "junit"
test_report = "out/report.xml"
timeout = "90s"
)",
                                                "spec.toml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->repos.size(), 2u);
  const RepoEnvironment& p = spec->repos.at("pytest-dev/pytest");
  EXPECT_EQ(p.test_format, TestFormat::kPytest);
  EXPECT_EQ(p.env.size(), 2u);
  EXPECT_EQ(p.ro_binds, std::vector<std::string>{"/opt/venvs/pytest"});
  EXPECT_EQ(p.timeout, std::chrono::seconds(1800));
  EXPECT_EQ(ExpandCommand(p.setup[0], {}, "5.4"), "printf 'version = \"5.4.0.dev0\"\n' > src/_pytest/_version.py")
      << "a safe version goes in bare, so it works inside quotes too";
  const RepoEnvironment& a = spec->repos.at("acme/lib");
  EXPECT_EQ(a.test_report, "out/report.xml");
  EXPECT_EQ(a.timeout, std::chrono::seconds(90));
}

TEST(EvalSpecTest, ExpandsTestsQuotedOnlyWhereTheyNeedIt) {
  EXPECT_EQ(ExpandCommand("pytest -rA {tests}", {"tests/test_a.py", "tests/it's here.py"}, ""),
            "pytest -rA tests/test_a.py 'tests/it'\\''s here.py'");
  EXPECT_EQ(ExpandCommand("echo {version}", {}, "1.0; rm -rf /"), "echo '1.0; rm -rf /'");
}

TEST(EvalSpecTest, BadInputNamesTheLineAndTheKey) {
  struct Case {
    std::string toml;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\ntest_fromat = \"pytest\"\n", "spec.toml:3: unknown key test_fromat"},
           {"[repo.\"a/b\"]\ntest_format = \"pytest\"\n", "has no test_cmd"},
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\n", "has no test_format"},
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\ntest_format = \"exit\"\n", "gives no per-test results"},
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\ntest_format = \"junit\"\n", "needs test_report"},
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\ntest_format = \"tap\"\nenv = [\"NOVALUE\"]\n", "is not NAME=VALUE"},
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\ntest_format = \"tap\"\nro_bind = [\"venv\"]\n", "not an absolute path"},
           {"[repo.\"a/b\"]\ntest_cmd = \"t\"\ntest_format = \"tap\"\ntimeout = \"soon\"\n", "timeout"},
           {"[repos.\"a/b\"]\n", "unknown table repos"},
           {"[repo.\"a/b\"\n", "not valid TOML"},
           {"", "no [repo"}}) {
    absl::StatusOr<EvalSpec> spec = ParseEvalSpec(c.toml, "spec.toml");
    ASSERT_FALSE(spec.ok()) << c.toml;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(spec.status().message().find(c.says), std::string::npos) << spec.status();
  }
}

}  // namespace
}  // namespace swarm
