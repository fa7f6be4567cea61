#include "models/scripted/model_script.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace swarm {
namespace {

using json = nlohmann::json;

constexpr int kMaxDelayMs = 600'000;

const std::map<std::string, ScriptFault>& FaultNames() {
  static const auto* names = new std::map<std::string, ScriptFault>{
      {"rate_limit", ScriptFault::kRateLimit},
      {"server_error", ScriptFault::kServerError},
      {"stall", ScriptFault::kStall},
      {"truncate", ScriptFault::kTruncate},
      {"malformed_tool_args", ScriptFault::kMalformedToolArgs},
      {"not_json", ScriptFault::kNotJson},
  };
  return *names;
}

absl::Status Invalid(const std::string& where, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("script: ", where, ": ", message));
}

// Reads `key` of `object` as a non-negative integer no larger than `max`, if present.
absl::Status ReadCount(const json& object, const char* key, int64_t max, const std::string& where,
                       std::optional<int64_t>* out) {
  if (!object.contains(key)) return absl::OkStatus();
  const json& value = object[key];
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > max) {
    return Invalid(where, absl::StrCat("\"", key, "\" must be an integer from 0 to ", max));
  }
  *out = value.get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadString(const json& object, const char* key, const std::string& where,
                        std::string* out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_string()) return Invalid(where, absl::StrCat("\"", key, "\" must be a string"));
  *out = object[key].get<std::string>();
  return absl::OkStatus();
}

absl::Status RejectUnknownKeys(const json& object, const std::vector<std::string>& known,
                               const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Invalid(where, absl::StrCat("unknown key \"", key, "\" (known: ",
                                         absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ScriptedToolCall> ParseToolCall(const json& j, const std::string& where) {
  if (!j.is_object()) return Invalid(where, "must be an object");
  if (absl::Status s = RejectUnknownKeys(j, {"id", "name", "arguments"}, where); !s.ok()) return s;
  ScriptedToolCall call;
  if (absl::Status s = ReadString(j, "id", where, &call.id); !s.ok()) return s;
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty()) {
    return Invalid(where, "\"name\" must be a non-empty string");
  }
  call.name = j["name"].get<std::string>();
  json arguments = j.value("arguments", json::object());
  if (!arguments.is_object()) return Invalid(where, "\"arguments\" must be a JSON object");
  call.arguments = arguments.dump();
  return call;
}

absl::StatusOr<ScriptStep> ParseStep(const json& j, const std::string& where) {
  if (!j.is_object()) return Invalid(where, "must be an object");
  absl::Status s = RejectUnknownKeys(
      j,
      {"expect", "delay_ms", "content", "reasoning", "tool_calls", "finish_reason", "usage",
       "headers", "fault", "retry_after", "retry_after_ms"},
      where);
  if (!s.ok()) return s;

  ScriptStep step;
  std::optional<int64_t> delay_ms, retry_after_s, retry_after_ms;
  for (absl::Status t : {ReadString(j, "expect", where, &step.expect),
                         ReadString(j, "content", where, &step.content),
                         ReadString(j, "reasoning", where, &step.reasoning),
                         ReadString(j, "finish_reason", where, &step.finish_reason),
                         ReadCount(j, "delay_ms", kMaxDelayMs, where, &delay_ms),
                         ReadCount(j, "retry_after", 3600, where, &retry_after_s),
                         ReadCount(j, "retry_after_ms", 3'600'000, where, &retry_after_ms)}) {
    if (!t.ok()) return t;
  }
  step.delay_ms = static_cast<int>(delay_ms.value_or(0));
  if (retry_after_s) step.retry_after_s = static_cast<int>(*retry_after_s);
  if (retry_after_ms) step.retry_after_ms = static_cast<int>(*retry_after_ms);

  if (!step.finish_reason.empty() && step.finish_reason != "stop" &&
      step.finish_reason != "tool_calls" && step.finish_reason != "length") {
    return Invalid(where, "\"finish_reason\" must be one of stop, tool_calls, length");
  }

  if (j.contains("tool_calls")) {
    if (!j["tool_calls"].is_array()) return Invalid(where, "\"tool_calls\" must be an array");
    for (size_t i = 0; i < j["tool_calls"].size(); ++i) {
      absl::StatusOr<ScriptedToolCall> call =
          ParseToolCall(j["tool_calls"][i], absl::StrCat(where, " tool call ", i + 1));
      if (!call.ok()) return call.status();
      step.tool_calls.push_back(*std::move(call));
    }
  }

  if (j.contains("usage")) {
    const json& usage = j["usage"];
    const std::string usage_where = where + " usage";
    if (!usage.is_object()) return Invalid(where, "\"usage\" must be an object");
    if (absl::Status t = RejectUnknownKeys(usage, {"input", "cached", "cache_write", "output"},
                                           usage_where);
        !t.ok()) {
      return t;
    }
    constexpr int64_t kMaxTokens = int64_t{1} << 40;
    for (absl::Status t : {ReadCount(usage, "input", kMaxTokens, usage_where, &step.usage.input),
                           ReadCount(usage, "cached", kMaxTokens, usage_where, &step.usage.cached),
                           ReadCount(usage, "cache_write", kMaxTokens, usage_where,
                                     &step.usage.cache_write),
                           ReadCount(usage, "output", kMaxTokens, usage_where, &step.usage.output)}) {
      if (!t.ok()) return t;
    }
    if (step.usage.input && step.usage.cached.value_or(0) + step.usage.cache_write.value_or(0) >
                                *step.usage.input) {
      return Invalid(usage_where, "\"cached\" + \"cache_write\" exceed \"input\" (input counts every "
                                  "prompt token, cached ones included)");
    }
  }

  if (j.contains("headers")) {
    if (!j["headers"].is_object()) return Invalid(where, "\"headers\" must be an object");
    for (const auto& [name, value] : j["headers"].items()) {
      if (!value.is_string()) {
        return Invalid(where, absl::StrCat("header \"", name, "\" must have a string value"));
      }
      step.headers.emplace_back(name, value.get<std::string>());
    }
  }

  if (j.contains("fault")) {
    auto it = j["fault"].is_string() ? FaultNames().find(j["fault"].get<std::string>())
                                     : FaultNames().end();
    if (it == FaultNames().end()) {
      std::vector<std::string> names;
      for (const auto& [name, fault] : FaultNames()) names.push_back(name);
      return Invalid(where, absl::StrCat("\"fault\" must be one of ", absl::StrJoin(names, ", ")));
    }
    step.fault = it->second;
  }
  if ((step.retry_after_s || step.retry_after_ms) && step.fault != ScriptFault::kRateLimit) {
    return Invalid(where, "\"retry_after\" and \"retry_after_ms\" need \"fault\": \"rate_limit\"");
  }
  if (step.fault == ScriptFault::kMalformedToolArgs && step.tool_calls.empty()) {
    return Invalid(where, "\"fault\": \"malformed_tool_args\" needs \"tool_calls\"");
  }
  return step;
}

}  // namespace

absl::StatusOr<ModelScript> ModelScript::Parse(const std::string& json_text) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // a parse error, or a number too large (out_of_range 406)
    return absl::InvalidArgumentError(absl::StrCat("script is not JSON: ", e.what()));
  }
  if (!root.is_object()) return Invalid("top level", "must be an object");
  if (absl::Status s = RejectUnknownKeys(root, {"api_key", "conversations", "default"}, "top level");
      !s.ok()) {
    return s;
  }

  ModelScript script;
  if (absl::Status s = ReadString(root, "api_key", "top level", &script.api_key_); !s.ok()) return s;
  if (root.contains("conversations")) {
    if (!root["conversations"].is_object()) {
      return Invalid("top level", "\"conversations\" must be an object of arrays of steps");
    }
    for (const auto& [name, steps] : root["conversations"].items()) {
      const std::string where = absl::StrCat("conversation \"", name, "\"");
      if (!steps.is_array()) return Invalid(where, "must be an array of steps");
      std::vector<ScriptStep>& parsed = script.conversations_[name];
      for (size_t i = 0; i < steps.size(); ++i) {
        absl::StatusOr<ScriptStep> step = ParseStep(steps[i], absl::StrCat(where, " step ", i + 1));
        if (!step.ok()) return step.status();
        parsed.push_back(*std::move(step));
      }
    }
  }
  if (root.contains("default")) {
    absl::StatusOr<ScriptStep> step = ParseStep(root["default"], "default step");
    if (!step.ok()) return step.status();
    script.default_step_ = *std::move(step);
  }
  return script;
}

const ScriptStep* ModelScript::Take(const std::string& conversation, int* call_number) {
  const int index = calls_[conversation]++;
  *call_number = index + 1;
  auto it = conversations_.find(conversation);
  if (it == conversations_.end()) return default_step_ ? &*default_step_ : nullptr;
  return index < static_cast<int>(it->second.size()) ? &it->second[index] : nullptr;
}

}  // namespace swarm
