// `swarm eval` end to end: the real binary, real git, real bubblewrap, on examples/eval's instances
// (built by examples/eval/make_instances.py from real bug shapes in a Python and a C repository).
// Gold resolves all, empty none; patches that cheat, break a PASS_TO_PASS test, kill the test run or
// do not apply resolve nothing; a missing environment is said per instance.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::map<std::string, json> ById(const json& report) {
  std::map<std::string, json> by_id;
  for (const json& i : report["instances"]) by_id[i["instance_id"]] = i;
  return by_id;
}

class EvalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Not under /tmp, which every sandbox replaces with its own: the clones must be hidden by eval.
    dir_ = new TempDir("/var/tmp");
    Sh(absl::StrCat("python3 ", SourceDir(), "/examples/eval/make_instances.py ", dir_->path(), " > /dev/null"));
    for (const std::string& line :
         std::vector<std::string>(absl::StrSplit(ReadFile(instances()), '\n', absl::SkipEmpty()))) {
      json j = json::parse(line);
      instance_[j["instance_id"]] = j;
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string instances() { return *dir_ / "instances.jsonl"; }
  static std::string repos() { return *dir_ / "repos"; }
  static std::string spec() { return SourceDir() + "/examples/eval/spec.toml"; }

  CliResult Eval(const std::vector<std::string>& args, const std::string& out, std::string from = "") {
    std::vector<std::string> all = {"eval",        "--instances", from.empty() ? instances() : from,
                                    "--repos-dir", repos(),       "--out",
                                    out,           "--state-dir", *dir_ / "state"};
    all.insert(all.end(), args.begin(), args.end());
    return RunSwarm(all);
  }
  static json Report(const std::string& out) { return json::parse(ReadFile(out + "/report.json")); }

  // A patch against an instance's base made by `edit` (a shell command run in a clone of it).
  static std::string PatchBy(const std::string& id, const std::string& edit) {
    const json& in = instance_.at(id);
    TempDir work;
    Sh(absl::StrCat("git clone -q ", repos(), "/", in["repo"].get<std::string>(), " ", work.path(), "/w && cd ",
                    work.path(), "/w && git checkout -q --detach ", in["base_commit"].get<std::string>(), " && ", edit,
                    " && git add -A && git -c diff.noprefix=false diff --cached > ../patch"));
    return ReadFile(work / "patch");
  }

  // Every file of every clone, and its refs: eval must change none of them.
  static std::string Clones() {
    return Sh(absl::StrCat("cd ", repos(), " && for r in acme/*; do git -C $r show-ref; git -C $r status --porcelain; ",
                           "done"));
  }

  static TempDir* dir_;
  static std::map<std::string, json> instance_;
  TempDir out_;
};

TempDir* EvalTest::dir_ = nullptr;
std::map<std::string, json> EvalTest::instance_;

TEST_F(EvalTest, GoldResolvesEveryInstanceAndEmptyNone) {
  ASSERT_EQ(instance_.size(), 6u);
  const std::string before = Clones();
  CliResult gold = Eval({"--spec", spec(), "--model", "gold", "--workers", "2"}, out_ / "gold");
  ASSERT_EQ(gold.exit_code, 0) << gold.out << gold.err;
  json report = Report(out_ / "gold");
  EXPECT_EQ(report["resolved"], 6) << report.dump(1);
  EXPECT_EQ(report["model"], "gold");
  for (const auto& [id, in] : ById(report)) {
    EXPECT_TRUE(in["resolved"].get<bool>()) << in.dump(1);
    EXPECT_EQ(in["FAIL_TO_PASS"]["passed"], in["FAIL_TO_PASS"]["total"]) << id;
    EXPECT_GT(in["FAIL_TO_PASS"]["total"].get<int>(), 0) << id;
    EXPECT_EQ(in["PASS_TO_PASS"]["passed"], in["PASS_TO_PASS"]["total"]) << id;
    EXPECT_TRUE(fs::exists(in["log"].get<std::string>())) << id;
  }
  EXPECT_NE(gold.out.find("gold: resolved 6 of 6"), std::string::npos) << gold.out;
  // The setup ran in the sandbox with the instance's version (a PASS_TO_PASS test reads it).
  EXPECT_NE(ReadFile(out_ / "gold/logs/acme__textstats-3.log").find("PASSED tests/test_version.py::"),
            std::string::npos);
  // Predictions in SWE-bench's shape, one valid JSON object per line, the gold patches.
  int lines = 0;
  for (const std::string& line :
       std::vector<std::string>(absl::StrSplit(ReadFile(out_ / "gold/predictions.jsonl"), '\n', absl::SkipEmpty()))) {
    json p = json::parse(line);
    ASSERT_TRUE(p.is_object());
    EXPECT_EQ(p.size(), 3u) << line;
    EXPECT_EQ(p["model_name_or_path"], "gold");
    EXPECT_EQ(p["model_patch"], instance_.at(p["instance_id"])["patch"]);
    ++lines;
  }
  EXPECT_EQ(lines, 6);
  EXPECT_FALSE(fs::exists(out_ / "gold/work")) << "the checkouts are removed";

  CliResult empty = Eval({"--spec", spec(), "--model", "empty"}, out_ / "empty");
  ASSERT_EQ(empty.exit_code, 0) << empty.out << empty.err;
  report = Report(out_ / "empty");
  EXPECT_EQ(report["resolved"], 0);
  EXPECT_EQ(report["unresolved"], 6) << report.dump(1);
  for (const auto& [id, in] : ById(report)) {
    EXPECT_EQ(in["FAIL_TO_PASS"]["passed"], 0) << id;
    EXPECT_EQ(in["PASS_TO_PASS"]["passed"], in["PASS_TO_PASS"]["total"]) << id << ": the base passes them";
  }
  EXPECT_EQ(Clones(), before) << "grading changed a clone";
}

// Predictions from some system, each wrong in its own way.
TEST_F(EvalTest, PatchesThatCheatBreakAPassingTestOrKillTheRunResolveNothing) {
  json preds = json::array();
  auto predict = [&](const std::string& id, const std::string& patch) {
    preds.push_back({{"instance_id", id}, {"model_name_or_path", "tricky"}, {"model_patch", patch}});
  };
  // Edits the tests to pass (adds the FAIL_TO_PASS tests, passing, with no fix): the test patch's
  // files go back to the base before the test patch is applied.
  predict("acme__textstats-1", PatchBy("acme__textstats-1",
                                       "printf 'def test_every_window():\\n    pass\\n"
                                       "def test_a_window_as_long_as_the_sequence():\\n    pass\\n' >> "
                                       "tests/test_window.py"));
  // The naive fix: lower-cases in split_words, which breaks a PASS_TO_PASS test.
  predict("acme__textstats-4", PatchBy("acme__textstats-4",
                                       "sed -i 's/return _WORD.findall(text)/return _WORD.findall(text.lower())/' "
                                       "textstats/words.py"));
  // Kills the test process (every test file dies at once).
  predict("acme__cstr-1", PatchBy("acme__cstr-1",
                                  "sed -i 's/int lines = 0, c/abort(); int lines = 0, c/; "
                                  "s/#include <stdio.h>/#include <stdio.h>\\n#include <stdlib.h>/' "
                                  "src/cstr.c"));
  // Stops pytest before it reports anything.
  predict("acme__textstats-2",
          PatchBy("acme__textstats-2", "printf 'import os\\nos._exit(3)\\n' >> textstats/__init__.py"));
  // Does not apply.
  predict("acme__textstats-3", "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n");
  // The right fix still resolves.
  predict("acme__cstr-2", instance_.at("acme__cstr-2")["patch"]);
  std::string lines;
  for (const json& p : preds) lines += p.dump() + "\n";
  WriteFile(out_ / "preds.jsonl", lines);

  CliResult r = Eval({"--spec", spec(), "--predictions", out_ / "preds.jsonl", "--workers", "2"}, out_ / "tricky");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<std::string, json> by_id = ById(Report(out_ / "tricky"));
  auto status = [&](const std::string& id) { return by_id.at(id)["status"].get<std::string>(); };
  auto reason = [&](const std::string& id) { return by_id.at(id)["reason"].get<std::string>(); };
  EXPECT_EQ(status("acme__textstats-1"), "unresolved") << reason("acme__textstats-1");
  EXPECT_EQ(by_id.at("acme__textstats-1")["FAIL_TO_PASS"]["passed"], 0);
  EXPECT_EQ(status("acme__textstats-4"), "unresolved");
  EXPECT_EQ(by_id.at("acme__textstats-4")["FAIL_TO_PASS"]["passed"], 1) << "the naive fix does fix the issue";
  EXPECT_EQ(by_id.at("acme__textstats-4")["PASS_TO_PASS"]["failing"],
            json::array({"tests/test_words.py::test_split_words_keeps_case"}));
  EXPECT_EQ(status("acme__cstr-1"), "unresolved") << reason("acme__cstr-1");
  EXPECT_EQ(by_id.at("acme__cstr-1")["PASS_TO_PASS"]["passed"], 0);
  EXPECT_EQ(status("acme__textstats-2"), "unresolved") << reason("acme__textstats-2");
  EXPECT_TRUE(absl::StrContains(reason("acme__textstats-2"), "the patch stops the tests from running"))
      << reason("acme__textstats-2");
  EXPECT_EQ(status("acme__textstats-3"), "unresolved");
  EXPECT_TRUE(absl::StrContains(reason("acme__textstats-3"), "does not apply")) << reason("acme__textstats-3");
  EXPECT_EQ(status("acme__cstr-2"), "resolved") << reason("acme__cstr-2");
  EXPECT_NE(r.out.find("tricky: resolved 1 of 6"), std::string::npos) << r.out;
}

// Shapes of real SWE-bench instances: a test file that imports what the fix adds (it cannot even be
// collected without the fix), and a test patch that brings a data file (not a test to name).
TEST_F(EvalTest, TestsThatCannotLoadWithoutTheFixAreUnresolvedNotAnEnvironmentError) {
  json in = instance_.at("acme__textstats-3");
  in["instance_id"] = "acme__textstats-9";
  in["patch"] = PatchBy("acme__textstats-3",
                        "printf '\\n\\ndef median(values):\\n    v = sorted(values)\\n    return v[len(v) // 2]\\n' >> "
                        "textstats/stats.py");
  in["test_patch"] = PatchBy("acme__textstats-3",
                             "sed -i 's/import mean, spread/import mean, median, spread/' tests/test_stats.py && "
                             "printf '\\n\\ndef test_median():\\n    assert median([3, 1, 2]) == 2\\n' >> "
                             "tests/test_stats.py && mkdir -p tests/data && echo '{}' > tests/data/sample.json");
  in["FAIL_TO_PASS"] = json::array({"tests/test_stats.py::test_median"});
  in["PASS_TO_PASS"] = json::array({"tests/test_stats.py::test_mean_of_numbers", "tests/test_stats.py::test_spread"});
  WriteFile(out_ / "extra.jsonl", in.dump() + "\n");
  // The fix again, with a check that the tests cannot read the repository's history (where the fix of
  // a real instance would be, in a later commit): neither through the checkout nor in the clone.
  json prediction = {
      {"instance_id", "acme__textstats-9"},
      {"model_name_or_path", "m"},
      {"model_patch", PatchBy("acme__textstats-3",
                              "git apply <<'EOF'\n" + in["patch"].get<std::string>() +
                                  "EOF\n"
                                  "printf 'import subprocess\\nassert all(subprocess.run(c).returncode != 0 for c in "
                                  "([\"git\", \"log\", \"--all\"], [\"git\", \"-C\", \"" +
                                  repos() +
                                  "/acme/textstats\", \"log\", \"--all\"]))\\n' "
                                  ">> textstats/__init__.py")}};
  WriteFile(out_ / "preds.jsonl", prediction.dump() + "\n");

  for (const char* model : {"gold", "empty"}) {
    CliResult r = Eval({"--spec", spec(), "--model", model}, out_ / model, out_ / "extra.jsonl");
    EXPECT_EQ(r.exit_code, 0) << model << r.out << r.err;
    json graded = Report(out_ / model)["instances"][0];
    EXPECT_EQ(graded["status"], std::string(model) == "gold" ? "resolved" : "unresolved") << graded.dump(1);
    if (std::string(model) == "empty") {
      EXPECT_TRUE(absl::StrContains(graded["reason"].get<std::string>(), "runs without a fix")) << graded.dump(1);
    }
  }
  CliResult r = Eval({"--spec", spec(), "--predictions", out_ / "preds.jsonl"}, out_ / "preds", out_ / "extra.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Report(out_ / "preds")["instances"][0]["status"], "resolved")
      << "the tests saw the repository's history: " << ReadFile(out_ / "preds/logs/acme__textstats-9.log");
}

// An interrupted eval of thousands of instances is continued, not started again: --resume keeps what
// the earlier one graded with the same patches' source (as results.jsonl holds it) and grades the rest.
TEST_F(EvalTest, ResumeKeepsWhatWasGradedAndGradesTheRest) {
  CliResult first = Eval({"--spec", spec(), "--model", "gold", "--instance", "acme__cstr-1"}, out_ / "r");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // A line cut by the interruption, and one with numbers no grade holds, are read past.
  const std::string results = ReadFile(out_ / "r/results.jsonl");
  WriteFile(out_ / "r/results.jsonl",
            results + R"({"instance_id": "acme__cstr-2", "model_name_or_path": "gold", "exit_code": 1e80})" + "\n" +
                R"({"instance_id": "acme__textstats-1", "model_na)");
  CliResult resumed = Eval({"--spec", spec(), "--model", "gold", "--resume"}, out_ / "r");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming: 1 of 6 instances were graded"), std::string::npos) << resumed.err;
  EXPECT_EQ(resumed.err.find("acme__cstr-1 resolved"), std::string::npos) << "graded again:\n" << resumed.err;
  json report = Report(out_ / "r");
  EXPECT_EQ(report["resolved"], 6) << report.dump(1);
  EXPECT_TRUE(fs::exists(out_ / "r/logs/acme__cstr-1.log"));
  // With other patches, nothing of the gold eval is kept.
  CliResult other = Eval({"--spec", spec(), "--model", "empty", "--resume"}, out_ / "r");
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(other.err.find("resuming: 0 of 6"), std::string::npos) << other.err;
  EXPECT_EQ(Report(out_ / "r")["resolved"], 0);
  // --resume needs the directory it resumes.
  CliResult alone = Eval({"--spec", spec(), "--model", "gold", "--resume"}, out_ / "not-an-eval");
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("--resume goes with --out DIR of an earlier swarm eval"), std::string::npos) << alone.err;
}

TEST_F(EvalTest, AMissingEnvironmentIsSaidPerInstanceAndResolvesNothing) {
  WriteFile(out_ / "spec.toml",
            "[repo.\"acme/textstats\"]\n"
            "test_cmd = \"python3 -m pytest -rA {tests}\"\n"
            "test_format = \"pytest\"\n"
            "ro_bind = [\"/opt/no-such-venv\"]\n"
            "[repo.\"acme/cstr\"]\n"
            "test_cmd = \"no-such-compiler-driver {tests}\"\n"
            "test_format = \"tap\"\n");
  CliResult r = Eval({"--spec", out_ / "spec.toml", "--model", "gold"}, out_ / "env");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("6 of 6 instances could not be graded"), std::string::npos) << r.err;
  for (const auto& [id, in] : ById(Report(out_ / "env"))) {
    EXPECT_EQ(in["status"], "error") << id;
    EXPECT_FALSE(in["resolved"].get<bool>());
    const std::string why = in["reason"];
    if (absl::StartsWith(id, "acme__textstats")) {
      EXPECT_TRUE(absl::StrContains(why, "ro_bind /opt/no-such-venv does not exist")) << why;
    } else {
      EXPECT_TRUE(absl::StrContains(why, "the environment: a command was not found")) << why;
    }
  }
  // A repository with no clone and one the spec does not name are said too.
  fs::rename(repos() + "/acme/cstr", repos() + "/acme/cstr.away");
  CliResult missing = Eval({"--spec", spec(), "--model", "empty", "--instance", "acme__cstr-1"}, out_ / "missing");
  fs::rename(repos() + "/acme/cstr.away", repos() + "/acme/cstr");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(
      absl::StrContains(Report(out_ / "missing")["instances"][0]["reason"].get<std::string>(), "no clone of acme/cstr"))
      << missing.out;
}

TEST_F(EvalTest, BadInputIsRefusedBeforeAnythingIsGraded) {
  WriteFile(out_ / "bad.jsonl", ReadFile(instances()) + "{\"instance_id\": \"x\", \"repo\": \"nope\"}\n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
    std::string from = "";
  };
  for (const Case& c : std::vector<Case>{
           {{"--spec", spec(), "--model", "gold"},
            "bad.jsonl: line 7 (x): missing field \"base_commit\"",
            out_ / "bad.jsonl"},
           {{"--spec", instances(), "--model", "gold"}, "not valid TOML"},
           {{"--spec", spec(), "--model", "deepseek:deepseek-chat"}, "solving with a model is not built yet"},
           {{"--spec", spec()}, "give --model (gold or empty) or --predictions FILE"},
           {{"--spec", spec(), "--model", "gold", "--instance", "acme__nope-1"}, "--instance acme__nope-1"},
           {{"--spec", spec(), "--model", "gold", "--workers", "0"}, "--workers"}}) {
    CliResult r = Eval(c.args, out_ / "bad", c.from);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out_ / "bad")) << "nothing is written before the input is checked";
  }
  // An --out that holds someone else's files is not written to.
  WriteFile(out_ / "mine/report.json", "my own\n");
  fs::create_directories(out_ / "mine/work");
  WriteFile(out_ / "mine/work/notes", "mine\n");
  CliResult r = Eval({"--spec", spec(), "--model", "gold"}, out_ / "mine");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("holds files that swarm eval did not write"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(out_ / "mine/report.json"), "my own\n");
  EXPECT_EQ(ReadFile(out_ / "mine/work/notes"), "mine\n");
}

}  // namespace
}  // namespace swarm::testing
