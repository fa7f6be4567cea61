#include "orchestrator/models_command.h"

#include <algorithm>
#include <cstdlib>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/model_config.h"
#include "models/model_gateway.h"
#include "base/terminal_text.h"

namespace swarm {

namespace {

// Whatever went wrong with the user's config or model reference is bad input (exit 2).
absl::Status BadInput(const absl::Status& st) { return absl::InvalidArgumentError(st.message()); }

}  // namespace

absl::Status ListModels(const std::string& repo, std::ostream& out) {
  absl::StatusOr<ModelsConfig> config = LoadModelsConfig(repo);
  if (!config.ok()) return BadInput(config.status());
  out << "config files: " << (config->files.empty() ? "(none; built-in presets only)" : "") << "\n";
  for (const auto& f : config->files) out << "  " << f << "\n";
  if (config->per_subtask_usd > 0) out << absl::StrFormat("per-subtask budget: $%.2f\n", config->per_subtask_usd);
  out << "\n";
  for (const auto& [name, p] : config->providers) {
    std::string key = p.key_env.empty() ? "no key"
                      : std::getenv(p.key_env.c_str()) != nullptr ? p.key_env + " (set)"
                                                                  : p.key_env + " (NOT SET)";
    out << name << "  " << ApiStyleName(p.api) << "  "
        << (p.base_url.empty() ? "(the scripted model server; the model is the script's path)" : p.base_url) << "  "
        << key << "\n";
    std::string concurrency = p.concurrency > 0 ? absl::StrCat("concurrency ", p.concurrency)
                              : p.max_concurrency > 0
                                  ? absl::StrCat("concurrency one per agent, at most ", p.max_concurrency)
                                  : std::string("concurrency one per agent");
    out << absl::StrFormat("    %s, %s, %s, time-out %d s%s\n", concurrency,
                           p.tokens_per_minute > 0 ? absl::StrCat(p.tokens_per_minute, " tokens/min") : "no token limit",
                           p.stream ? "streaming" : "not streaming", p.timeout_s,
                           p.ca_file.empty() ? "" : ", CA " + p.ca_file);
    auto line = [&](const std::string& model, const ModelInfo& m) {
      out << absl::StrFormat("    %-28s context %7d  max out %6d  ", model, m.context_window, m.max_output_tokens);
      if (m.priced) {
        out << absl::StrFormat("$/Mtok in %.3f  cached %.3f  out %.3f", m.input_usd, m.cached_input_usd, m.output_usd);
        if (m.cache_write_usd > 0) out << absl::StrFormat("  cache write %.3f", m.cache_write_usd);
      } else {
        out << "(no prices: no budget possible)";
      }
      out << "\n";
    };
    for (const auto& [model, m] : p.models) line(model, m);
    if (p.any_model) line("(any other model)", p.defaults);
  }
  return absl::OkStatus();
}

absl::Status CheckModel(const std::string& ref, const std::string& base_url, const std::string& repo,
                        std::ostream& out) {
  absl::StatusOr<ModelsConfig> config = LoadModelsConfig(repo);
  if (!config.ok()) return BadInput(config.status());
  absl::StatusOr<ResolvedModel> model = ResolveModel(*config, ref, base_url, [](const char* n) { return std::getenv(n); });
  if (!model.ok()) return BadInput(model.status());
  model->provider.max_retries = std::min(model->provider.max_retries, 2);  // a check answers soon
  absl::StatusOr<std::unique_ptr<ModelGateway>> gateway = ModelGateway::Start(*model);
  if (!gateway.ok()) return BadInput(gateway.status());
  v1::ChatRequest request;
  request.set_max_tokens(1024);  // reasoning models think before they call
  auto* system = request.add_messages();
  system->set_role("system");
  system->set_content("You are checking a connection. Use the tool when asked.");
  auto* user = request.add_messages();
  user->set_role("user");
  user->set_content("Call the tool report_status with status \"ok\", then stop.");
  auto* tool = request.add_tools();
  tool->set_name("report_status");
  tool->set_description("Reports that the connection works.");
  tool->set_parameters_json(
      R"({"type":"object","properties":{"status":{"type":"string"}},"required":["status"]})");
  out << "checking " << ref << " at " << (*gateway)->base_url() << " ("
      << ApiStyleName(model->provider.api) << (model->provider.stream ? ", streaming" : "") << ")\n";
  absl::StatusOr<v1::ChatReply> reply = (*gateway)->CompleteAndWait("check", request);
  if (!reply.ok()) {
    std::string message = absl::StrCat(ref, " failed: ", reply.status().message());
    return absl::IsInvalidArgument(reply.status()) ? absl::InvalidArgumentError(message)
                                                   : absl::UnavailableError(message);
  }
  const v1::ChatMessage& m = reply->message();
  if (!m.reasoning().empty()) out << "reasoning: " << TerminalSafe(m.reasoning(), TextLines::kMulti) << "\n";
  out << "reply:     " << (m.content().empty() ? "(no text)" : TerminalSafe(m.content(), TextLines::kMulti)) << "\n";
  for (const v1::ToolCall& call : m.tool_calls()) {
    out << "tool call: " << TerminalSafe(call.name()) << " " << TerminalSafe(call.arguments_json(), TextLines::kMulti)
        << (call.error().empty() ? "" : "  (" + TerminalSafe(call.error()) + ")") << "\n";
  }
  if (m.tool_calls_size() == 0) out << "tool call: none (the model did not use the tool)\n";
  const v1::Usage& u = reply->usage();
  out << absl::StrFormat("finish:    %s\nlatency:   %u ms (%u HTTP attempt(s))\n", reply->finish_reason(),
                         reply->latency_ms(), reply->http_attempts());
  out << absl::StrFormat("tokens:    %u in (%u cached), %u out%s\ncost:      $%.6f\n", u.input_tokens(),
                         u.cached_input_tokens(), u.output_tokens(),
                         reply->usage_reported() ? "" : " (no usage reported)", reply->cost_usd());
  return absl::OkStatus();
}

}  // namespace swarm
