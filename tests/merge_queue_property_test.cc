// The merge stage as a whole, under random input: good, bad, poisoned and conflicting patches in
// random order and timing, through the check stage and the speculative queue with batches. Seeded:
// the seed is printed, and SWARM_TEST_SEED replays it.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

TEST(MergeQueuePropertyTest, GoodPatchesLandBadOnesDoNotAndTheTreeIsTheSerialOne) {
  const char* replay = getenv("SWARM_TEST_SEED");
  unsigned seed = replay != nullptr ? static_cast<unsigned>(atoi(replay)) : std::random_device{}();
  SCOPED_TRACE("SWARM_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  std::string repo = dir / "repo";
  InitRepo(repo);
  // Kinds: good (appends to its own file), bad (breaks the tests alone), poison (passes alone; two
  // poisons together break the tests, so of each pair only the first to land may), clash (edits the
  // shared line that its pair partner edits too: a textual conflict, no rebase allowed).
  std::vector<std::pair<std::string, std::string>> subtasks;  // id, kind
  for (int i = 0; i < 12; ++i) subtasks.push_back({absl::StrCat("good", i), "good"});
  for (int i = 0; i < 3; ++i) subtasks.push_back({absl::StrCat("bad", i), "bad"});
  for (int i = 0; i < 2; ++i) subtasks.push_back({absl::StrCat("poison", i), "poison"});
  std::shuffle(subtasks.begin(), subtasks.end(), rng);
  // The clashing pair comes first in the plan, so both are leased on the base and must conflict.
  for (int i = 0; i < 2; ++i) subtasks.insert(subtasks.begin(), {absl::StrCat("clash", i), "clash"});
  std::string plan = R"({"subtasks": [)", agent = "case $SWARM_SUBTASK_ID in ";
  for (std::size_t i = 0; i < subtasks.size(); ++i) {
    const auto& [id, kind] = subtasks[i];
    WriteFile(repo + "/" + id + ".txt", "x\n");
    absl::StrAppend(&plan, i ? "," : "", R"({"id": ")", id, R"(", "title": ")", id, R"(", "instructions": ""})");
    std::string sleep = absl::StrCat("sleep 0.", rng() % 4, "; ");
    std::string edit = kind == "good"     ? "echo ok >> " + id + ".txt"
                       : kind == "bad"    ? "echo BAD >> " + id + ".txt"
                       : kind == "poison" ? "echo POISON >> " + id + ".txt"
                                          : "echo " + id + " > shared.txt";
    absl::StrAppend(&agent, id, ") ", sleep, edit, ";; ");
  }
  absl::StrAppend(&plan, "]}");
  absl::StrAppend(&agent, "esac");
  WriteFile(repo + "/shared.txt", "shared\n");
  CommitAll(repo, "base");
  WriteFile(dir / "plan.json", plan);
  // Fails on BAD anywhere, or on POISON in two files.
  std::string test = "! grep -l BAD *.txt && [ $(grep -l POISON *.txt | wc -l) -le 1 ]";
  CliResult r = RunSwarm({"run", "--repo", repo, "--state-dir", dir / "state", "--plan", dir / "plan.json",
                          "--agents", "6", "--queue-depth", "3", "--max-batch", "4", "--test-jobs", "3",
                          "--max-rebases", "0", "--agent-cmd", agent, "--test-cmd", test});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json report = OnlyReport(dir / "state");
  auto outcomes = Outcomes(report);
  int poisons = 0, clashes = 0;
  std::set<std::string> landed;
  for (const auto& [id, kind] : subtasks) {
    if (outcomes[id] == "landed") landed.insert(id);
    if (kind == "good") {
      EXPECT_EQ(outcomes[id], "landed") << id;
    }
    if (kind == "bad") {
      EXPECT_EQ(outcomes[id], "rejected_check") << id;
    }
    if (kind == "poison") {
      poisons += outcomes[id] == "landed";
      // Caught by the queue, or by the check when the other poison had landed before its base.
      if (outcomes[id] != "landed") {
        EXPECT_TRUE(outcomes[id] == "rejected_queue" || outcomes[id] == "rejected_check") << id << " " << outcomes[id];
      }
    }
    if (kind == "clash") {
      clashes += outcomes[id] == "landed";
      if (outcomes[id] != "landed") {
        EXPECT_EQ(outcomes[id], "conflict_exhausted") << id;
      }
    }
  }
  EXPECT_EQ(poisons, 1) << "exactly one poison lands: " << report.dump(2);
  EXPECT_EQ(clashes, 1) << "exactly one of the clashing pair lands: " << report.dump(2);
  // The result passes the tests and equals the serial application of what landed.
  std::string branch = Trim(Sh("git -C " + repo + " for-each-ref --format='%(refname:short)' refs/heads/swarm/"));
  std::string copy = dir / "check";
  Sh("git clone -q -b " + branch + " " + repo + " " + copy);
  EXPECT_EQ(ShStatus("cd " + copy + " && " + test), 0) << "the result fails its tests";
  std::string serial = dir / "serial";
  Sh("git clone -q " + repo + " " + serial);
  for (const auto& [id, kind] : subtasks) {
    if (!landed.count(id)) continue;
    std::string edit = kind == "good" ? "echo ok >> " + id + ".txt"
                       : kind == "poison" ? "echo POISON >> " + id + ".txt"
                                          : "echo " + id + " > shared.txt";
    Sh("cd " + serial + " && " + edit);
  }
  Sh("cd " + serial + " && git add -A");
  EXPECT_EQ(Trim(Sh("git -C " + serial + " write-tree")), Trim(Sh("git -C " + copy + " rev-parse HEAD^{tree}")));
  // One commit per landed subtask on the branch.
  EXPECT_EQ(Trim(Sh("git -C " + repo + " rev-list --count HEAD.." + branch)), std::to_string(landed.size()));
}

}  // namespace
}  // namespace swarm::testing
