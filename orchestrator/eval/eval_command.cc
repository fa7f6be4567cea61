#include "orchestrator/eval/eval_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/input_file.h"
#include "base/terminal_text.h"
#include "orchestrator/eval/eval_report.h"
#include "orchestrator/eval/eval_spec.h"
#include "orchestrator/eval/grading.h"
#include "orchestrator/eval/instances.h"
#include "orchestrator/eval/predictions.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/run_setup.h"
#include "sandbox/bubblewrap_sandbox.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;

// Marks a directory `swarm eval` wrote: it may write there again.
constexpr char kOutMarker[] = ".swarm-eval";
constexpr std::size_t kMaxInstancesBytes = std::size_t{512} << 20;  // the full SWE-bench is ~100 MB

absl::Status Usage(const std::string& what) { return absl::InvalidArgumentError(what); }

// Where the instance's patch comes from, or why it has none.
struct Solution {
  std::string model;
  std::string patch;
  std::string missing;  // not empty: the instance is not graded, and this says why
};

}  // namespace

absl::StatusOr<std::string> FindRepoClone(const std::string& repos_dir, const std::string& repo) {
  std::vector<std::string> tried;
  const std::string flat = absl::StrReplaceAll(repo, {{"/", "__"}});
  for (const std::string& name : {repo, flat, repo + ".git", flat + ".git"}) {
    const std::string dir = absl::StrCat(repos_dir, "/", name);
    std::error_code ec;
    tried.push_back(dir);
    if (fs::is_directory(dir + "/.git", ec)) return dir + "/.git";
    if (fs::is_regular_file(dir + "/.git", ec)) {
      // A linked worktree: its repository is the common directory that holds the objects.
      if (absl::StatusOr<Git> g = Git::Open(dir); g.ok()) return fs::path(g->ObjectDir()).parent_path().string();
    }
    if (fs::is_regular_file(dir + "/HEAD", ec) && fs::is_directory(dir + "/objects", ec)) return dir;  // bare
  }
  return absl::NotFoundError(absl::StrCat("no clone of ", repo, " (looked for ", absl::StrJoin(tried, ", "), ")"));
}

absl::Status EvalCommand(const EvalOptions& options, std::ostream& out, std::ostream& err) {
  // Everything is read and checked before anything is graded.
  if (options.instances_file.empty()) return Usage("--instances FILE is required");
  if (options.spec_file.empty()) return Usage("--spec FILE is required");
  if (options.repos_dir.empty()) return Usage("--repos-dir DIR is required");
  if (options.model.empty() == options.predictions_file.empty()) {
    return Usage("give --model (gold or empty) or --predictions FILE, one of them");
  }
  if (!options.model.empty() && options.model != "gold" && options.model != "empty") {
    return Usage(absl::StrCat("--model ", TerminalSafe(options.model),
                              ": solving with a model is not built yet (docs/eval.md); use --model gold, --model ",
                              "empty, or grade a system's patches with --predictions FILE"));
  }
  if (options.workers < 1 || options.workers > 256) return Usage("--workers must be 1 to 256");
  std::error_code ec;
  if (!fs::is_directory(options.repos_dir, ec)) {
    return Usage(absl::StrCat("--repos-dir ", options.repos_dir, " is not a directory"));
  }
  absl::StatusOr<std::string> text = ReadInputFile(options.instances_file, "the instances file", kMaxInstancesBytes);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<EvalInstance>> all = ParseInstances(*text, options.instances_file);
  if (!all.ok()) return all.status();
  absl::StatusOr<std::string> spec_text = ReadInputFile(options.spec_file, "the spec file");
  if (!spec_text.ok()) return spec_text.status();
  absl::StatusOr<EvalSpec> spec = ParseEvalSpec(*spec_text, options.spec_file);
  if (!spec.ok()) return spec.status();

  std::vector<const EvalInstance*> chosen;
  if (options.instance_ids.empty()) {
    for (const EvalInstance& in : *all) chosen.push_back(&in);
  } else {
    std::map<std::string, const EvalInstance*> by_id;
    for (const EvalInstance& in : *all) by_id[in.id] = &in;
    std::set<std::string> seen;
    for (const std::string& id : options.instance_ids) {
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        return Usage(absl::StrCat("--instance ", TerminalSafe(id), ": no such instance in ", options.instances_file));
      }
      if (seen.insert(id).second) chosen.push_back(it->second);
    }
  }
  if (chosen.empty()) {
    out << "swarm: no instances in " << options.instances_file << "\n";
    return absl::OkStatus();
  }

  std::map<std::string, Prediction> predictions;
  if (!options.predictions_file.empty()) {
    absl::StatusOr<std::string> p = ReadInputFile(options.predictions_file, "the predictions file", kMaxInstancesBytes);
    if (!p.ok()) return p.status();
    absl::StatusOr<std::map<std::string, Prediction>> parsed = ParsePredictions(*p, options.predictions_file);
    if (!parsed.ok()) return parsed.status();
    predictions = std::move(*parsed);
  }
  std::vector<Solution> solutions;
  for (const EvalInstance* in : chosen) {
    Solution s;
    if (options.model == "gold") {
      s.model = "gold";
      s.patch = in->patch;
      if (s.patch.empty())
        return Usage(absl::StrCat(options.instances_file, ": instance ", in->id, " has no \"patch\" for --model gold"));
    } else if (options.model == "empty") {
      s.model = "empty";
    } else if (auto it = predictions.find(in->id); it != predictions.end()) {
      s.model = it->second.model;
      s.patch = it->second.patch;
    } else {
      s.missing = absl::StrCat("no prediction for it in ", options.predictions_file);
    }
    solutions.push_back(std::move(s));
  }
  if (!options.predictions_file.empty()) {
    std::set<std::string> ids;
    for (const EvalInstance& in : *all) ids.insert(in.id);
    int strangers = 0;
    std::string first;
    for (const auto& [id, p] : predictions) {
      if (ids.count(id) > 0) continue;
      if (strangers++ == 0) first = id;
    }
    if (strangers > 0) {
      err << "swarm: eval: " << strangers << " predictions name no instance of " << options.instances_file
          << " (the first: " << TerminalSafe(first) << "); they are not graded\n";
    }
    if (std::all_of(solutions.begin(), solutions.end(), [](const Solution& s) { return !s.missing.empty(); })) {
      return Usage(absl::StrCat(options.predictions_file, " predicts none of the instances to grade (is it for ",
                                "another dataset?)"));
    }
  }
  const std::string model_name = !options.model.empty()                                   ? options.model
                                 : !solutions.empty() && !solutions.front().model.empty() ? solutions.front().model
                                                                                          : options.predictions_file;

  absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> sandbox = BubblewrapSandbox::Create();
  if (!sandbox.ok()) return sandbox.status();

  // Where it all goes.
  std::string out_dir = options.out_dir;
  const std::string state_dir = options.state_dir.empty() ? DefaultStateDir() : options.state_dir;
  if (out_dir.empty()) out_dir = absl::StrCat(state_dir, "/evals/", NewRunId());
  if (options.resume && (options.out_dir.empty() || !fs::exists(out_dir + "/" + kOutMarker, ec))) {
    return Usage("--resume goes with --out DIR of an earlier swarm eval (it keeps what that one graded)");
  }
  // Only a new or empty directory, or one an eval wrote, is written (and its work/ removed).
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec) && !fs::exists(out_dir + "/" + kOutMarker, ec)) {
    return Usage(absl::StrCat("--out ", out_dir, " holds files that swarm eval did not write: give a new or empty ",
                              "directory"));
  }
  fs::create_directories(out_dir + "/logs", ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", out_dir, "/logs: ", ec.message()));
  out_dir = fs::canonical(out_dir, ec).string();
  std::ofstream(out_dir + "/" + kOutMarker) << "written by swarm eval\n";
  const std::string work_root = out_dir + "/work";
  fs::remove_all(work_root, ec);  // an earlier eval's, kept with --keep-checkouts
  fs::create_directories(work_root, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", work_root, ": ", ec.message()));
  // The checkouts' parents must be passable by the sandbox's user (as root, not root).
  chmod(work_root.c_str(), 0711);
  // With --resume, what the earlier eval graded with the same patches' source (an error is graded again).
  std::map<std::string, GradedInstance> kept;
  if (options.resume) {
    std::map<std::string, const EvalInstance*> known;
    for (const EvalInstance* in : chosen) known[in->id] = in;
    std::ifstream earlier(out_dir + "/results.jsonl", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(earlier)), std::istreambuf_iterator<char>());
    kept = ReadResults(text, known, model_name);
    std::erase_if(kept, [](const auto& k) { return k.second.grade.status == GradeStatus::kError; });
    err << "swarm: eval: resuming: " << kept.size() << " of " << chosen.size() << " instances were graded in "
        << out_dir << "\n";
  }
  // Each result as it comes (report.json is written at the end); what is kept first.
  std::ofstream results(out_dir + "/results.jsonl", std::ios::trunc);
  for (const auto& [id, g] : kept) results << InstanceJsonLine(g);
  results.flush();

  // What no test may see: the state, the output (other instances' logs and patches), the instances
  // and predictions (the gold patches), the home and the runtime directory.
  std::vector<std::string> hidden = {state_dir, out_dir, options.repos_dir};
  for (const std::string& f : {options.instances_file, options.predictions_file}) {
    if (f.empty()) continue;
    std::string dir = fs::absolute(f, ec).parent_path().string();
    if (dir != "/") hidden.push_back(dir);
  }
  if (const char* h = getenv("HOME"); h != nullptr && *h == '/' && std::string(h) != "/") hidden.push_back(h);
  if (const char* x = getenv("XDG_RUNTIME_DIR"); x != nullptr && *x == '/') hidden.push_back(x);

  // Each instance's clone and environment, or why it has none.
  std::vector<GradedInstance> graded(chosen.size());
  std::vector<GradingPlace> places(chosen.size());
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const EvalInstance& in = *chosen[i];
    graded[i].instance = &in;
    graded[i].model = solutions[i].model.empty() ? model_name : solutions[i].model;
    GradingPlace& place = places[i];
    place.sandbox = sandbox->get();
    place.work_dir = absl::StrCat(work_root, "/", in.id);
    place.log_path = absl::StrCat(out_dir, "/logs/", in.id, ".log");
    place.hidden_paths = hidden;
    place.keep_checkout = options.keep_checkouts;
    auto env = spec->repos.find(in.repo);
    absl::StatusOr<std::string> clone = FindRepoClone(options.repos_dir, in.repo);
    std::string& why = solutions[i].missing;
    if (!why.empty()) {
    } else if (env == spec->repos.end()) {
      why = absl::StrCat("the environment is missing: ", options.spec_file, " has no [repo.\"", in.repo, "\"]");
    } else if (!clone.ok()) {
      why = absl::StrCat("the repository is missing: ", clone.status().message(), " in --repos-dir");
    } else {
      place.environment = &env->second;
      place.repo_git_dir = *clone;
    }
  }

  // Graded `workers` at a time.
  std::atomic<std::size_t> next{0};
  std::mutex progress_mu;
  int done = 0;
  auto work = [&] {
    for (std::size_t i = next++; i < chosen.size(); i = next++) {
      if (auto k = kept.find(chosen[i]->id); k != kept.end()) {
        graded[i] = k->second;
        continue;
      }
      if (!solutions[i].missing.empty()) {
        graded[i].grade.status = GradeStatus::kError;
        graded[i].grade.reason = solutions[i].missing;
      } else {
        graded[i].grade = GradeInstance(*chosen[i], solutions[i].patch, places[i]);
      }
      std::lock_guard<std::mutex> lock(progress_mu);
      results << InstanceJsonLine(graded[i]) << std::flush;
      ++done;
      err << "swarm: eval: " << done << "/" << chosen.size() - kept.size() << " " << chosen[i]->id << " "
          << GradeStatusName(graded[i].grade.status) << "\n";
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < std::min<int>(options.workers, static_cast<int>(chosen.size())); ++w) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
  if (!options.keep_checkouts) fs::remove_all(work_root, ec);

  // The report, the predictions, the table.
  {
    std::ofstream report(out_dir + "/report.json");
    report << ReportJson(graded, model_name, options.instances_file, options.spec_file);
    std::ofstream lines(out_dir + "/predictions.jsonl");
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      if (!solutions[i].missing.empty() && solutions[i].missing.rfind("no prediction", 0) == 0) continue;
      lines << PredictionLine(chosen[i]->id, Prediction{graded[i].model, solutions[i].patch});
    }
    if (!report || !lines) return absl::ResourceExhaustedError(absl::StrCat("cannot write the report in ", out_dir));
  }
  PrintTable(graded, model_name, out);
  out << "report: " << out_dir << "/report.json\n";

  const EvalTotals t = Count(graded);
  if (t.errors > 0) {
    return WithExitCode(absl::AbortedError(absl::StrCat(t.errors, " of ", graded.size(),
                                                        " instances could not be graded: the table says why, and ",
                                                        out_dir, "/logs/ has what each step printed")),
                        kExitIncomplete);
  }
  if (options.model == "gold" && t.resolved < static_cast<int>(graded.size())) {
    return WithExitCode(
        absl::AbortedError(absl::StrCat("the gold patches resolved only ", t.resolved, " of ", graded.size(),
                                        ": the environment in ", options.spec_file, " or those instances are wrong")),
        kExitIncomplete);
  }
  if (options.model == "empty" && t.resolved > 0) {
    return WithExitCode(absl::AbortedError(absl::StrCat("the empty patch resolved ", t.resolved, " of ", graded.size(),
                                                        ": those instances' FAIL_TO_PASS tests pass without a fix")),
                        kExitIncomplete);
  }
  return absl::OkStatus();
}

}  // namespace swarm
