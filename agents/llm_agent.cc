#include "agents/llm_agent.h"

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "agents/prompts.h"  // generated from agents/prompts/*.txt
#include "base/prompt_template.h"
#include "agents/attempt.h"
#include "test_results/test_results.h"
#include "sandbox/beneath.h"
#include "sandbox/pid_ledger.h"
#include "base/utf8.h"
#include "tools/file_tools.h"

namespace swarm {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;

constexpr auto kRunTimeout = std::chrono::seconds(300);  // one `run` tool call
constexpr std::size_t kMaxRepositoryListing = 300;       // files named in the prompt
constexpr std::size_t kMaxTestReportBytes = 64 << 20;    // a larger JUnit report is not read

// The repository's files, for the prompt (the .git directory and beyond the first few hundred left out).
std::string ListRepository(const std::string& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(fs::path(it->path()).lexically_relative(root).string());
  }
  std::sort(files.begin(), files.end());
  const std::size_t total = files.size();
  if (files.size() > kMaxRepositoryListing) files.resize(kMaxRepositoryListing);
  std::string out = absl::StrJoin(files, "\n");
  if (total > files.size()) absl::StrAppend(&out, "\n... and ", total - files.size(), " more (use list_dir or search)");
  return out;
}

// --agent-timeout: the attempt's time from its start.
std::chrono::seconds AttemptTimeout(const v1::Registered& registered) {
  return std::chrono::seconds(registered.agent().timeout_s() > 0 ? registered.agent().timeout_s() : 3600);
}

// `cap`, or less when the attempt's deadline comes sooner (but at least a second: the call still runs).
std::chrono::seconds Within(std::chrono::steady_clock::time_point deadline, std::chrono::seconds cap) {
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
  return std::max(std::chrono::seconds(1), std::min(cap, left));
}

v1::ChatMessage Message(const std::string& role, std::string content) {
  v1::ChatMessage m;
  m.set_role(role);
  m.set_content(std::move(content));
  return m;
}

}  // namespace

LlmAgent::LlmAgent(asio::io_context& io, asio::thread_pool& pool, const Sandbox& sandbox,
                   const v1::Registered& registered, v1::Lease lease, ModelClient& model,
                   const HostWorkspaces* workspaces)
    : io_(io),
      pool_(pool),
      sandbox_(sandbox),
      registered_(registered),
      lease_(std::move(lease)),
      model_(model),
      workspaces_(workspaces),
      dir_(absl::StrCat(registered_.sandbox().workspace_root(), "/", lease_.subtask().id(), ".", lease_.attempt(), ".",
                        lease_.fence())) {}

void LlmAgent::Start(Started started, Done done, Activity activity) {
  started_ = std::move(started);
  done_ = std::move(done);
  activity_ = std::move(activity);
  start_ = std::chrono::steady_clock::now();
  auto self = shared_from_this();
  asio::post(pool_, [self] {
    auto ws = MakeAttemptWorkspace(self->sandbox_, self->registered_, self->lease_, self->dir_, *self->workspaces_);
    std::string root, listing;
    if (ws.ok()) {
      // Walking the tree is slow on a large repository: here, not on the loop that serves heartbeats.
      std::error_code ec;
      root = fs::canonical((*ws)->root(), ec).string();
      listing = ListRepository(root);
    }
    asio::post(self->io_, [self, ws = std::move(ws), root, listing]() mutable {
      self->OnWorkspace(std::move(ws), root, listing);
    });
  });
}

void LlmAgent::Kill() {
  killed_ = true;
  if (int pid = running_pid_.load(); pid > 0) kill(-pid, SIGKILL);  // a `run` or the tests, now
}

void LlmAgent::OnWorkspace(absl::StatusOr<std::unique_ptr<Workspace>> ws, const std::string& root,
                           const std::string& listing) {
  if (started_) std::exchange(started_, nullptr)();
  if (!ws.ok()) {
    End("failed", absl::StrCat("cannot make the workspace: ", ws.status().message()));
    return;
  }
  workspace_ = std::move(*ws);
  auto self = shared_from_this();
  // Every tool call ends by the attempt's deadline: the commands' time-outs are cut to it, and the
  // file tools stop there.
  const auto deadline = start_ + AttemptTimeout(registered_);
  Runner runner;
  runner.run = [self, root, deadline](const std::string& command) {
    return self->RunCommand(command, root, Within(deadline, kRunTimeout), self->workspace_->UncappedGrowth());
  };
  runner.run_tests = [self, deadline] { return self->RunTests(deadline); };
  tools_ = std::make_unique<ToolSet>(root, std::move(runner), deadline);
  const v1::Subtask& s = lease_.subtask();
  messages_.push_back(Message("system", prompts::kSystem));
  messages_.push_back(
      Message("user", FillTemplate(prompts::kSubtask,
                                   {{"files_in_repository", listing},
                                    {"test_command", registered_.agent().test_command()},
                                    {"id", s.id()},
                                    {"title", s.title()},
                                    {"instructions", s.instructions()},
                                    {"files", s.files().empty() ? "(not given)" : absl::StrJoin(s.files(), ", ")}})));
  if (!lease_.conflict_json().empty()) {
    messages_.push_back(Message("user",
                                "Your previous patch conflicted with changes that landed since. The "
                                "conflicting files, with markers, are in " +
                                    dir_ +
                                    "/meta/conflict.json; "
                                    "the repository is now at the new head: redo your change on it."));
  }
  if (!lease_.failure_json().empty()) {
    nlohmann::json failure = nlohmann::json::parse(lease_.failure_json(), nullptr, false);
    if (failure.is_object()) {
      const std::string refused = failure.value("refused", "");
      const bool tests_failed = refused.empty();
      messages_.push_back(Message(
          "user", FillTemplate(
                      prompts::kFixUp,
                      {{"what_happened", tests_failed ? "failed the tests when it was merged with what other engineers "
                                                        "landed meanwhile"
                                                      : "passed the tests but was refused: " + refused},
                       {"what_to_do", tests_failed
                                          ? "Find out why it failed, then make the change again so that the tests pass."
                                          : "Make the change again so that it is accepted: with a test that "
                                            "reproduces the issue, which fails without your fix and passes with it."},
                       {"log_title", tests_failed ? "The end of the failing test output:"
                                                  : "The end of the test output without the fix:"},
                       {"log", failure.value("log", "")},
                       {"patch_title", tests_failed ? "The patch that failed:" : "The refused patch:"},
                       {"patch", failure.value("patch", "")}})));
    }
  }
  prefix_ = messages_.size();
  Ask();
}

void LlmAgent::Ask() {
  if (killed_) return End("cancelled", "the lease was cancelled");
  const int max_steps = registered_.agent().max_steps() > 0 ? static_cast<int>(registered_.agent().max_steps()) : 40;
  if (steps_ >= max_steps) return End("limit_reached", absl::StrCat("no submit after ", steps_, " steps"));
  if (const std::uint64_t max = registered_.agent().max_tokens(); max > 0 && tokens_ >= max) {
    return End("limit_reached", absl::StrCat(tokens_, " tokens used, the limit is ", max));
  }
  const auto wall = AttemptTimeout(registered_);
  if (std::chrono::steady_clock::now() - start_ > wall) {
    return End("limit_reached", absl::StrCat("no submit within --agent-timeout (", wall.count(), " s)"));
  }
  ++steps_;
  Live(absl::StrCat("(step ", steps_, ": waiting for the model)\n"));  // a call that hangs shows here
  if (activity_) activity_(static_cast<std::uint32_t>(steps_), "waiting for the model");
  ElideOldObservations();
  v1::ChatRequest request;
  for (const auto& m : messages_) *request.add_messages() = m;
  for (const auto& t : tools_->specs()) *request.add_tools() = t;
  auto self = shared_from_this();
  model_.Complete(lease_.lease_id(), lease_.fence(), std::move(request), [self](absl::StatusOr<v1::ChatReply> reply) {
    asio::post(self->io_, [self, reply = std::move(reply)]() mutable { self->OnReply(std::move(reply)); });
  });
}

void LlmAgent::OnReply(absl::StatusOr<v1::ChatReply> reply) {
  if (killed_) return End("cancelled", "the lease was cancelled");
  if (!reply.ok()) {
    const std::string why(reply.status().message());
    if (absl::IsResourceExhausted(reply.status())) return End("budget_exhausted", why);
    if (absl::IsCancelled(reply.status())) return End("cancelled", why);
    return End("failed", absl::StrCat("the model call failed: ", why));
  }
  tokens_ += reply->usage().input_tokens() + reply->usage().output_tokens();
  const v1::ChatMessage& said = reply->message();
  messages_.push_back(said);
  std::vector<std::string> names;
  for (const auto& c : said.tool_calls()) names.push_back(c.name());
  Note(absl::StrCat("step ", steps_, ": ", said.content().substr(0, 200),
                    names.empty() ? "" : absl::StrCat(" [", absl::StrJoin(names, ", "), "]")));
  if (said.tool_calls_size() == 0) {
    if (++format_errors_ >= kMaxFormatErrorsInARow) {
      return End("repeated_format_errors", "the model answered without calling a tool, three times in a row");
    }
    messages_.push_back(Message("user", "Use the tools to make your change; call submit when it is complete."));
    return Ask();
  }
  auto self = shared_from_this();
  std::vector<v1::ToolCall> calls(said.tool_calls().begin(), said.tool_calls().end());
  asio::post(pool_, [self, calls = std::move(calls)] {
    std::vector<ToolOutcome> outcomes;
    for (const auto& call : calls) {
      if (self->killed_) break;
      asio::post(self->io_, [self, action = ToolCallAction(call)]() mutable {
        if (self->activity_ && !self->killed_)
          self->activity_(static_cast<std::uint32_t>(self->steps_), std::move(action));
      });
      outcomes.push_back(self->tools_->Call(call));
      if (outcomes.back().submitted) break;
    }
    asio::post(self->io_,
               [self, outcomes = std::move(outcomes)]() mutable { self->OnObservations(std::move(outcomes)); });
  });
}

void LlmAgent::OnObservations(std::vector<ToolOutcome> outcomes) {
  const v1::ChatMessage& asked = messages_.back();
  std::vector<v1::ChatMessage> observed;
  bool submitted = false;
  std::string summary;
  if (killed_) return End("cancelled", "the lease was cancelled");
  bool all_malformed = !outcomes.empty();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    v1::ChatMessage m = Message("tool", ToUtf8(outcomes[i].observation));
    m.set_tool_call_id(asked.tool_calls(static_cast<int>(i)).id());
    observed.push_back(std::move(m));
    all_malformed = all_malformed && outcomes[i].format_error;
    Note(absl::StrCat("  ", asked.tool_calls(static_cast<int>(i)).name(), ": ",
                      outcomes[i].observation.substr(0, outcomes[i].observation.find('\n'))));
    if (outcomes[i].submitted) {
      submitted = true;
      summary = outcomes[i].summary;
    }
  }
  for (auto& m : observed) messages_.push_back(std::move(m));
  // A reply whose every call was malformed counts once; any well-formed call resets the count.
  format_errors_ = all_malformed ? format_errors_ + 1 : 0;
  if (submitted) return End("submitted", summary);
  if (format_errors_ >= kMaxFormatErrorsInARow) {
    return End("repeated_format_errors",
               "three replies in a row with only malformed tool calls (unknown tool, bad arguments)");
  }
  Ask();
}

void LlmAgent::ElideOldObservations() {
  const std::size_t window = registered_.context_window() > 0 ? registered_.context_window() : 32768;
  // Bytes over 3 overestimate tokens for code and prose; three quarters of the window leaves room to answer.
  std::size_t tools_bytes = 0;
  for (const auto& t : tools_->specs())
    tools_bytes += t.name().size() + t.description().size() + t.parameters_json().size();
  auto tokens = [&] {
    std::size_t bytes = tools_bytes;
    for (const auto& m : messages_) {
      bytes += m.content().size() + m.reasoning().size() + 16;
      for (const auto& c : m.tool_calls()) bytes += c.name().size() + c.arguments_json().size() + 16;
    }
    return bytes / 3;
  };
  if (tokens() <= window * 3 / 4) return;
  // Elide down to half the window at once, so that the prompt cache breaks once, not at every step.
  for (std::size_t i = prefix_; i + 2 < messages_.size() && tokens() > window / 2; ++i) {
    v1::ChatMessage& m = messages_[i];
    if (m.role() == "tool" && !m.content().starts_with("[elided")) {
      m.set_content(absl::StrCat("[elided: an old observation of ", m.content().size(), " bytes]"));
    }
    for (auto& c : *m.mutable_tool_calls()) {
      if (c.arguments_json().size() > 200) c.set_arguments_json("{}");  // an old edit's text, long done
    }
    m.clear_reasoning();
  }
}

std::string LlmAgent::RunCommand(const std::string& command, const std::string& workdir, std::chrono::seconds timeout,
                                 std::optional<GrowthCap> growth) const {
  SandboxPolicy policy = AgentSandboxPolicy(registered_, lease_, *workspace_, dir_ + "/meta");
  policy.workdir = workdir;
  policy.growth_cap = std::move(growth);
  policy.timeout = timeout;
  policy.output_cap = 256 << 10;
  if (killed_) return "error: the attempt was cancelled";
  // stderr into stdout, in order: a test summary after compiler warnings stays at the end.
  absl::StatusOr<SandboxedCommand> prepared = sandbox_.Prepare(policy, "exec 2>&1\n" + command);
  if (!prepared.ok()) return absl::StrCat("error: cannot run it: ", prepared.status().message());
  auto scope = prepared->scope;
  const std::string ledger = registered_.pid_ledger_dir();
  AlsoOnStart(prepared->spec, [this, scope, ledger](int pid) {
    running_pid_ = pid;
    PidLedger(ledger).Record(pid, "llm-agent/" + lease_.lease_id(),
                             scope ? scope->CgroupDirs() : std::vector<std::string>{});
    if (killed_) kill(-pid, SIGKILL);
  });
  absl::StatusOr<ProcessResult> r = RunProcess(std::move(prepared->spec));
  if (int pid = running_pid_.exchange(0); pid > 0) PidLedger(ledger).Forget(pid);
  if (!r.ok()) return absl::StrCat("error: cannot run it: ", r.status().message());
  std::string out = r->out;
  if (!r->err.empty()) absl::StrAppend(&out, out.empty() ? "" : "\n", r->err);
  // The end of the output is where failures are reported: keep it.
  if (out.size() > kMaxObservationBytes) {
    out = absl::StrCat("[output truncated: the first ", out.size() - kMaxObservationBytes, " bytes not shown]\n",
                       out.substr(out.size() - kMaxObservationBytes));
  }
  return absl::StrCat(out, out.empty() || out.back() == '\n' ? "" : "\n", "[", r->Describe(), "]");
}

std::string LlmAgent::RunTests(std::chrono::steady_clock::time_point deadline) const {
  const std::string& command = registered_.agent().test_command();
  if (command.empty()) return "error: this run has no test command";
  // On a throwaway tree: nothing the tests write becomes part of the patch. For an overlay
  // workspace it is one more layer, stacked on the work tree; otherwise a copy.
  std::error_code ec;
  std::unique_ptr<ThrowawayTree> view;
  std::string copy = dir_ + "/test-copy";
  fs::remove_all(copy, ec);
  absl::StatusOr<std::unique_ptr<ThrowawayTree>> made =
      workspace_->MakeThrowaway(copy, [this](const std::string& path) { return sandbox_.HandOver(path); });
  if (made.ok()) {
    view = *std::move(made);
    copy = view->root();
  } else if (absl::IsUnimplemented(made.status())) {
    // The copy is made by this process, outside the sandbox's limits: not of a tree past them.
    if (absl::Status st = workspace_->CheckGrowth(); !st.ok()) return absl::StrCat("error: ", st.message());
    fs::copy(workspace_->root(), copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return absl::StrCat("error: cannot copy the workspace for the tests: ", ec.message());
    if (absl::Status st = sandbox_.HandOver(copy); !st.ok()) return absl::StrCat("error: ", st.message());
  } else {
    return absl::StrCat("error: cannot make a tree for the tests: ", made.status().message());
  }
  const auto timeout =
      std::chrono::seconds(registered_.agent().test_timeout_s() > 0 ? registered_.agent().test_timeout_s() : 600);
  std::string out = RunCommand(command, copy, Within(deadline, timeout), workspace_->UncappedGrowthOfCopy(copy));
  // With a per-test format, the failing tests come first, by name.
  absl::StatusOr<TestFormat> format = ParseTestFormat(registered_.agent().test_format());
  if (format.ok() && *format != TestFormat::kExit) {
    TestResults results;
    std::string report_problem;
    if (*format == TestFormat::kJunit) {
      // The tests may have made the report a link or a FIFO: read it beneath the copy, capped.
      absl::StatusOr<std::string> xml = ReadFileBeneath(copy, registered_.agent().test_report(), kMaxTestReportBytes);
      if (xml.ok()) {
        results = ParseJunitReport(*xml);
      } else {
        report_problem = absl::StrCat("the test report ", xml.status().message(), ": ignored\n");
      }
    } else {
      results = ParseTestOutput(*format, out);
    }
    const std::set<std::string> failing = results.Failing();
    std::string summary = !results.ran ? "no test results could be read from the output\n"
                                       : absl::StrCat(results.tests.size(), " tests, ", failing.size(), " failing",
                                                      failing.empty() ? "" : ": " + absl::StrJoin(failing, ", "), "\n");
    out = report_problem + summary + out;
  }
  if (view == nullptr) fs::remove_all(copy, ec);
  return out;
}

void LlmAgent::Note(const std::string& line) {
  const std::string text = absl::StrCat(ToUtf8(line), "\n");
  log_ += text;
  Live(text);
}

void LlmAgent::Live(const std::string& text) {
  if (live_ == nullptr && !live_opened_) {
    live_opened_ = true;
    live_ = LiveLog::Open(registered_.live_log_dir(), lease_.subtask().id(), lease_.attempt());
  }
  if (live_ != nullptr) live_->Write(text);
}

void LlmAgent::End(const std::string& outcome, const std::string& detail) {
  Note(absl::StrCat("outcome: ", outcome, detail.empty() ? "" : ": " + detail));
  if (outcome != "submitted" || workspace_ == nullptr) {
    v1::AttemptResult result;
    result.set_outcome(v1::AttemptResult::FAILED);
    result.set_error(ToUtf8(absl::StrCat(outcome, ": ", detail.substr(0, 500))));
    result.set_log_tail(log_);
    result.set_base_commit(lease_.base_commit());
    return Complete(std::move(result));
  }
  auto self = shared_from_this();
  asio::post(pool_, [self, summary = detail] {
    absl::StatusOr<Patch> patch = self->workspace_->ComputePatch();
    asio::post(self->io_, [self, patch = std::move(patch), summary] {
      v1::AttemptResult result;
      if (!patch.ok()) {
        result.set_outcome(v1::AttemptResult::FAILED);
        result.set_error(
            ToUtf8(absl::StrCat("failed: the workspace is not a valid patch: ", patch.status().message())));
      } else {
        result = PatchResult(*patch);
        result.set_summary(summary.substr(0, kMaxSummaryBytes));  // submit's summary: the commit's body
      }
      result.set_log_tail(self->log_);
      self->Complete(std::move(result));
    });
  });
}

void LlmAgent::Complete(v1::AttemptResult result) {
  live_.reset();
  result.set_lease_id(lease_.lease_id());
  result.set_fence(lease_.fence());
  if (result.base_commit().empty()) result.set_base_commit(lease_.base_commit());
  result.set_duration_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count());
  if (workspace_) {
    asio::post(pool_, [ws = std::move(workspace_), dir = dir_, keep = registered_.agent().keep_workspaces()]() mutable {
      ws.reset();
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    });
  }
  tools_.reset();
  if (done_) {
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }
}

}  // namespace swarm
