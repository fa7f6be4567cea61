#include "orchestrator/plan/plan.h"

#include "absl/strings/str_cat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace swarm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::vector<std::string> DependsOn(const v1::Subtask& s) { return {s.depends_on().begin(), s.depends_on().end()}; }
std::vector<std::string> Files(const v1::Subtask& s) { return {s.files().begin(), s.files().end()}; }
std::vector<std::string> Tests(const v1::Subtask& s) { return {s.tests().begin(), s.tests().end()}; }

// Parses and validates, as a run does before anything starts.
absl::StatusOr<Plan> Load(std::string_view json) {
  absl::StatusOr<Plan> plan = ParsePlan(json, "plan.json");
  if (!plan.ok()) return plan.status();
  if (absl::Status st = ValidatePlan(*plan, "plan.json"); !st.ok()) return st;
  return plan;
}

// The message of the InvalidArgument that loading `json` must give; fails the test otherwise.
std::string LoadError(std::string_view json) {
  absl::StatusOr<Plan> plan = Load(json);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status() << "\nfor: " << json;
  std::string message(plan.status().message());
  EXPECT_THAT(message, StartsWith("plan.json: ")) << "the error names the plan file";
  return message;
}

constexpr char kFullPlan[] = R"({
  "subtasks": [
    {"id": "api", "title": "Add the API", "instructions": "Write api.h.\nSay \"hi\" \u00fc",
     "files": ["api.h", "api.cc"], "group": "core", "tests": ["api_test", "api_fuzz"]},
    {"id": "impl", "title": "Implement it", "instructions": "Write impl.cc", "files": ["impl.cc"],
     "group": "core"},
    {"id": "docs", "title": "Document it", "instructions": "", "depends_on": ["api"]}
  ],
  "groups": {"core": {"partial": true}}
})";

TEST(ParsePlanTest, ValidPlanKeepsEveryField) {
  absl::StatusOr<Plan> plan = ParsePlan(kFullPlan, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->subtasks.size(), 3u);
  const v1::Subtask& api = plan->subtasks[0];
  EXPECT_EQ(api.id(), "api");
  EXPECT_EQ(api.title(), "Add the API");
  EXPECT_EQ(api.instructions(), "Write api.h.\nSay \"hi\" \xc3\xbc");
  EXPECT_THAT(Files(api), ElementsAre("api.h", "api.cc"));
  EXPECT_EQ(api.group(), "core");
  EXPECT_THAT(Tests(api), ElementsAre("api_test", "api_fuzz"));
  EXPECT_THAT(DependsOn(api), IsEmpty());

  EXPECT_EQ(plan->subtasks[1].id(), "impl");
  EXPECT_THAT(Files(plan->subtasks[1]), ElementsAre("impl.cc"));
  EXPECT_EQ(plan->subtasks[1].group(), "core");

  const v1::Subtask& docs = plan->subtasks[2];
  EXPECT_EQ(docs.id(), "docs");
  EXPECT_EQ(docs.instructions(), "");
  EXPECT_THAT(DependsOn(docs), ElementsAre("api"));
  EXPECT_EQ(docs.group(), "");

  ASSERT_EQ(plan->groups.count("core"), 1u);
  EXPECT_TRUE(plan->groups.at("core").partial);
  EXPECT_EQ(plan->groups.size(), 1u);
}

TEST(ParsePlanTest, ValidatedPlanRoundTripsThroughPlanToJson) {
  absl::StatusOr<Plan> first = Load(kFullPlan);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string json = PlanToJson(*first);
  absl::StatusOr<Plan> second = Load(json);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << json;
  ASSERT_EQ(second->subtasks.size(), first->subtasks.size());
  for (std::size_t i = 0; i < first->subtasks.size(); ++i) {
    EXPECT_EQ(second->subtasks[i].DebugString(), first->subtasks[i].DebugString()) << json;
  }
  ASSERT_EQ(second->groups.size(), 1u);
  EXPECT_TRUE(second->groups.at("core").partial);
  EXPECT_THAT(second->groups.at("core").members, ElementsAre("api", "impl"));
  EXPECT_EQ(PlanToJson(*second), json);
}

TEST(ParsePlanTest, PlanWithoutGroupsRoundTripsWithoutGroups) {
  absl::StatusOr<Plan> first = Load(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "do a"}]})");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Plan> second = Load(PlanToJson(*first));
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->subtasks.size(), 1u);
  EXPECT_EQ(second->subtasks[0].DebugString(), first->subtasks[0].DebugString());
  EXPECT_THAT(second->groups, IsEmpty());
}

// The scheduler keeps subtasks that share a file apart by comparing paths: one spelling per file.
TEST(ParsePlanTest, FilePathsHaveOneSpelling) {
  absl::StatusOr<Plan> plan = Load(R"({"subtasks": [
    {"id": "a", "title": "A", "instructions": "", "files": ["./src/a.c", "src//b.c", "src/./c.c/"]}]})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(Files(plan->subtasks[0]), ElementsAre("src/a.c", "src/b.c", "src/c.c"));
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "files": ["./."]}]})"),
              HasSubstr("empty"));
}

TEST(ParsePlanTest, ANumberTooLargeForADoubleIsNotValidJsonNotACrash) {
  // Found by plan_fuzz: the parse without exceptions fails, the one for the message threw out_of_range.
  std::string message = LoadError(R"({"subtasks": [1e99999]})");
  EXPECT_THAT(message, HasSubstr("not valid JSON"));
  EXPECT_THAT(message, HasSubstr("number overflow"));
}

TEST(ParsePlanTest, NotJsonSaysSo) {
  EXPECT_THAT(LoadError(R"({"subtasks": [)"), HasSubstr("not valid JSON"));
  EXPECT_THAT(LoadError(""), HasSubstr("not valid JSON"));
  EXPECT_THAT(LoadError("subtasks: [a]"), HasSubstr("not valid JSON"));
}

TEST(ParsePlanTest, TopLevelMustBeAnObjectWithSubtasks) {
  EXPECT_THAT(LoadError(R"([{"id": "a", "title": "A", "instructions": "x"}])"), HasSubstr("JSON object"));
  EXPECT_THAT(LoadError(R"("subtasks")"), HasSubstr("JSON object"));
  EXPECT_THAT(LoadError("{}"), HasSubstr("missing field \"subtasks\""));
  EXPECT_THAT(LoadError(R"({"groups": {}})"), HasSubstr("missing field \"subtasks\""));
  EXPECT_THAT(LoadError(R"({"subtasks": {"id": "a"}})"), HasSubstr("\"subtasks\" must be an array"));
  EXPECT_THAT(LoadError(R"({"subtasks": []})"), HasSubstr("\"subtasks\" is empty"));
}

TEST(ParsePlanTest, UnknownTopLevelFieldIsNamed) {
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x"}], "group": {}})"),
              HasSubstr("unknown field \"group\""));
}

TEST(ParsePlanTest, MissingRequiredFieldNamesTheFieldAndTheSubtask) {
  const std::string first = R"({"id": "a", "title": "A", "instructions": "x"})";
  EXPECT_THAT(LoadError(R"({"subtasks": [)" + first + R"(, {"title": "B", "instructions": "y"}]})"),
              HasSubstr("subtasks[1]: missing field \"id\""));
  EXPECT_THAT(LoadError(R"({"subtasks": [)" + first + R"(, {"id": "b", "instructions": "y"}]})"),
              HasSubstr("subtasks[1] (id \"b\"): missing field \"title\""));
  EXPECT_THAT(LoadError(R"({"subtasks": [)" + first + R"(, {"id": "b", "title": "B"}]})"),
              HasSubstr("subtasks[1] (id \"b\"): missing field \"instructions\""));
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "", "instructions": "x"}]})"),
              HasSubstr("subtasks[0] (id \"a\"): \"title\" is empty"));
}

TEST(ParsePlanTest, WrongTypesNameTheField) {
  auto with = [](const std::string& extra) {
    return R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x"}, {"id": "b", "title": "B",
               "instructions": "y", )" +
           extra + "}]}";
  };
  EXPECT_THAT(LoadError(with(R"("files": "b.c")")), HasSubstr("subtasks[1] (id \"b\"): \"files\" must be an array of strings"));
  EXPECT_THAT(LoadError(with(R"("files": ["b.c", 7])")), HasSubstr("\"files\" must be an array of strings"));
  EXPECT_THAT(LoadError(with(R"("depends_on": "a")")),
              HasSubstr("subtasks[1] (id \"b\"): \"depends_on\" must be an array of strings"));
  EXPECT_THAT(LoadError(with(R"("depends_on": [["a"]])")), HasSubstr("\"depends_on\" must be an array of strings"));
  EXPECT_THAT(LoadError(with(R"("tests": {"t": 1})")), HasSubstr("\"tests\" must be an array of strings"));
  EXPECT_THAT(LoadError(with(R"("group": 3)")), HasSubstr("\"group\" must be a non-empty string"));
  EXPECT_THAT(LoadError(with(R"("group": "")")), HasSubstr("\"group\" must be a non-empty string"));
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": 1, "title": "A", "instructions": "x"}]})"),
              HasSubstr("subtasks[0]: \"id\" must be a string"));
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": ["A"], "instructions": "x"}]})"),
              HasSubstr("\"title\" must be a string"));
  EXPECT_THAT(LoadError(R"({"subtasks": ["do everything"]})"), HasSubstr("subtasks[0] must be an object"));
}

TEST(ParsePlanTest, MisspelledSubtaskFieldIsNamed) {
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x"},
                                         {"id": "b", "title": "B", "instructions": "y", "depend_on": ["a"]}]})"),
              HasSubstr("subtasks[1] (id \"b\"): unknown field \"depend_on\""));
}

TEST(ParsePlanTest, BadGroupsSectionIsNamed) {
  const std::string subtasks = R"("subtasks": [{"id": "a", "title": "A", "instructions": "x", "group": "g"}])";
  EXPECT_THAT(LoadError("{" + subtasks + R"(, "groups": ["g"]})"), HasSubstr("\"groups\" must be an object"));
  EXPECT_THAT(LoadError("{" + subtasks + R"(, "groups": {"g": true}})"), HasSubstr("groups.g must be an object"));
  EXPECT_THAT(LoadError("{" + subtasks + R"(, "groups": {"g": {"partial": "yes"}}})"),
              HasSubstr("groups.g: \"partial\" must be true or false"));
  EXPECT_THAT(LoadError("{" + subtasks + R"(, "groups": {"g": {"partial": 1}}})"),
              HasSubstr("groups.g: \"partial\" must be true or false"));
  EXPECT_THAT(LoadError("{" + subtasks + R"(, "groups": {"g": {"parital": true}}})"),
              HasSubstr("groups.g: unknown field \"parital\""));
}

TEST(ValidatePlanTest, RepeatedIdIsNamed) {
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x"},
                                         {"id": "b", "title": "B", "instructions": "y"},
                                         {"id": "a", "title": "A again", "instructions": "z"}]})"),
              HasSubstr("subtask id \"a\" is used twice"));
}

TEST(ValidatePlanTest, IdsWithCharactersOutsideTheSafeSetAreRefused) {
  for (const std::string& id :
       std::vector<std::string>{"a b", "../x", "a/b", "", ".", "..", "a\\\\b", "\u00fc", std::string(101, 'x')}) {
    SCOPED_TRACE(id);
    std::string shown = id == "a\\\\b" ? "a\\b" : id;
    EXPECT_THAT(LoadError(R"({"subtasks": [{"id": ")" + id + R"(", "title": "T", "instructions": "x"}]})"),
                HasSubstr("subtask id \"" + shown + "\" is not valid"));
  }
  std::string longest(100, 'y');
  absl::StatusOr<Plan> ok =
      Load(R"({"subtasks": [{"id": "Fix-1.2_b", "title": "T", "instructions": "x"},
                            {"id": ")" + longest + R"(", "title": "T", "instructions": "x"}]})");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(ValidatePlanTest, FilesOutsideTheRepositoryAreRefused) {
  for (const std::string& file : std::vector<std::string>{"../../etc/passwd", "/etc/shadow", ".git/config",
                                                          "a/../../x", "foo/.git/hooks/x", "", "a\\u0000b",
                                                          "a\\u001b]0;x", ".GIT/HEAD"}) {
    SCOPED_TRACE(file);
    std::string message = LoadError(R"({"subtasks": [{"id": "s1", "title": "T", "instructions": "x", "files": [")" +
                                    file + R"("]}]})");
    EXPECT_THAT(message, HasSubstr("subtask \"s1\": file \""));
    EXPECT_THAT(message, HasSubstr("is not a path inside the repository"));
    EXPECT_EQ(message.find('\0'), std::string::npos);
    EXPECT_EQ(message.find('\x1b'), std::string::npos);
  }
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "s1", "title": "T", "instructions": "x",
                                          "files": ["../../etc/passwd"]}]})"),
              HasSubstr("file \"../../etc/passwd\""));
  absl::StatusOr<Plan> ok = Load(R"({"subtasks": [{"id": "s1", "title": "T", "instructions": "x",
                                                   "files": ["src/a.c", "./b.c", ".github/x.md", "d/.gitignore"]}]})");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(ValidatePlanTest, DependencyProblemsNameTheSubtasks) {
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x"},
                                         {"id": "b", "title": "B", "instructions": "y", "depends_on": ["zz"]}]})"),
              HasSubstr("subtask \"b\" depends on unknown subtask \"zz\""));
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x", "depends_on": ["a"]}]})"),
              HasSubstr("subtask \"a\" depends on itself"));
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x"},
                                         {"id": "b", "title": "B", "instructions": "y", "depends_on": ["a", "a"]}]})"),
              HasSubstr("subtask \"b\" lists dependency \"a\" twice"));
}

TEST(ValidatePlanTest, CycleIsReportedWithItsSubtasks) {
  std::string message = LoadError(R"({"subtasks": [
      {"id": "a", "title": "A", "instructions": "x", "depends_on": ["c"]},
      {"id": "b", "title": "B", "instructions": "y", "depends_on": ["a"]},
      {"id": "c", "title": "C", "instructions": "z", "depends_on": ["b"]},
      {"id": "d", "title": "D", "instructions": "w"}]})");
  EXPECT_THAT(message, HasSubstr("cycle"));
  EXPECT_THAT(message, HasSubstr("subtask a"));
  EXPECT_THAT(message, HasSubstr("subtask b"));
  EXPECT_THAT(message, HasSubstr("subtask c"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("subtask d")));

  message = LoadError(R"({"subtasks": [
      {"id": "x", "title": "X", "instructions": "x", "depends_on": ["y"]},
      {"id": "y", "title": "Y", "instructions": "y", "depends_on": ["x"]}]})");
  EXPECT_THAT(message, HasSubstr("cycle"));
  EXPECT_THAT(message, HasSubstr("subtask x"));
  EXPECT_THAT(message, HasSubstr("subtask y"));
}

TEST(ValidatePlanTest, DiamondIsNotACycle) {
  absl::StatusOr<Plan> plan = Load(R"({"subtasks": [
      {"id": "d", "title": "D", "instructions": "x", "depends_on": ["b", "c"]},
      {"id": "b", "title": "B", "instructions": "x", "depends_on": ["a"]},
      {"id": "c", "title": "C", "instructions": "x", "depends_on": ["a"]},
      {"id": "a", "title": "A", "instructions": "x"}]})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(DependsOn(plan->subtasks[0]), ElementsAre("b", "c"));
}

TEST(ValidatePlanTest, DependencyInsideOneGroupIsRefused) {
  EXPECT_THAT(LoadError(R"({"subtasks": [
      {"id": "a", "title": "A", "instructions": "x", "group": "g"},
      {"id": "b", "title": "B", "instructions": "y", "group": "g", "depends_on": ["a"]}]})"),
              HasSubstr("subtask \"b\" depends on \"a\" in its own group \"g\""));
}

TEST(ValidatePlanTest, DeclaredGroupWithoutMembersIsNamed) {
  EXPECT_THAT(LoadError(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "x", "group": "g"}],
                            "groups": {"g": {"partial": false}, "unused": {"partial": true}}})"),
              HasSubstr("group \"unused\" has no member subtasks"));
}

TEST(ValidatePlanTest, DependingOnOneGroupMemberMeansDependingOnTheWholeGroup) {
  absl::StatusOr<Plan> plan = Load(R"({"subtasks": [
      {"id": "g1", "title": "G1", "instructions": "x", "group": "g"},
      {"id": "solo", "title": "Solo", "instructions": "x"},
      {"id": "g2", "title": "G2", "instructions": "x", "group": "g"},
      {"id": "on_one", "title": "On one", "instructions": "x", "depends_on": ["g2"]},
      {"id": "on_two", "title": "On two", "instructions": "x", "depends_on": ["solo", "g2", "g1"]},
      {"id": "h1", "title": "H1", "instructions": "x", "group": "h", "depends_on": ["g1"]},
      {"id": "h2", "title": "H2", "instructions": "x", "group": "h"}]})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(DependsOn(plan->subtasks[3]), ElementsAre("g1", "g2"));
  EXPECT_THAT(DependsOn(plan->subtasks[4]), ElementsAre("solo", "g1", "g2")) << "each once";
  EXPECT_THAT(DependsOn(plan->subtasks[5]), ElementsAre("g1", "g2"));
  EXPECT_THAT(DependsOn(plan->subtasks[6]), IsEmpty());
  // Groups only named by subtasks are filled in, in plan order, not partial.
  ASSERT_EQ(plan->groups.size(), 2u);
  EXPECT_THAT(plan->groups.at("g").members, ElementsAre("g1", "g2"));
  EXPECT_FALSE(plan->groups.at("g").partial);
  EXPECT_THAT(plan->groups.at("h").members, ElementsAre("h1", "h2"));
}

TEST(ValidatePlanTest, CycleThroughAGroupIsACycle) {
  // a -> x -> b, and a and b land together: the group waits on x, which waits on the group.
  std::string message = LoadError(R"({"subtasks": [
      {"id": "a", "title": "A", "instructions": "x", "group": "G", "depends_on": ["x"]},
      {"id": "x", "title": "X", "instructions": "x", "depends_on": ["b"]},
      {"id": "b", "title": "B", "instructions": "x", "group": "G"}]})");
  EXPECT_THAT(message, HasSubstr("cycle"));
  EXPECT_THAT(message, HasSubstr("group G"));
  EXPECT_THAT(message, HasSubstr("subtask x"));
}

TEST(ValidatePlanTest, ValidatingTwiceChangesNothing) {
  absl::StatusOr<Plan> plan = Load(kFullPlan);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::string once = PlanToJson(*plan);
  ASSERT_TRUE(ValidatePlan(*plan, "plan.json").ok());
  EXPECT_EQ(PlanToJson(*plan), once);
  EXPECT_THAT(plan->groups.at("core").members, ElementsAre("api", "impl"));
}

TEST(ParsePlanTest, AnEstimateIsSecondsAndRoundTrips) {
  auto plan = ParsePlan(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "estimate_s": 12.5}]})", "p.json");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->subtasks[0].estimate_s(), 12.5);
  EXPECT_THAT(PlanToJson(*plan), HasSubstr("\"estimate_s\": 12.5"));
  for (const char* bad : {"-1", "\"10\"", "null"}) {
    auto r = ParsePlan(absl::StrCat(R"({"subtasks": [{"id": "a", "title": "A", "instructions": "", "estimate_s": )", bad,
                                    "}]}"),
                       "p.json");
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("p.json: subtasks[0] (id \"a\"): \"estimate_s\" must be a number of seconds, 0 or more"))
        << bad;
  }
}

TEST(ParsePlanTest, LanesRoundTripAndStayApart) {
  absl::StatusOr<Plan> plan = Load(R"({"subtasks": [
      {"id": "a", "title": "t", "instructions": "i", "lane": "12"},
      {"id": "b", "title": "t", "instructions": "i", "lane": "12", "depends_on": ["a"]}]})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->subtasks[1].lane(), "12");
  EXPECT_EQ(LanesOf(*plan), std::vector<std::string>{"12"});
  absl::StatusOr<Plan> again = Load(PlanToJson(*plan));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->subtasks[0].lane(), "12");

  std::string across = LoadError(R"({"subtasks": [
      {"id": "a", "title": "t", "instructions": "i", "lane": "1"},
      {"id": "b", "title": "t", "instructions": "i", "lane": "2", "depends_on": ["a"]}]})");
  EXPECT_THAT(across, HasSubstr("of another lane"));
  std::string group = LoadError(R"({"subtasks": [
      {"id": "a", "title": "t", "instructions": "i", "lane": "1", "group": "g"},
      {"id": "b", "title": "t", "instructions": "i", "lane": "2", "group": "g"}]})");
  EXPECT_THAT(group, HasSubstr("members in two lanes"));
  std::string bad = LoadError(R"({"subtasks": [{"id": "a", "title": "t", "instructions": "i", "lane": "../x"}]})");
  EXPECT_THAT(bad, HasSubstr("lane \"../x\" is not valid"));
}

}  // namespace
}  // namespace swarm
