#include "orchestrator/eval/predictions.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "orchestrator/eval/internal/json_records.h"

namespace swarm {
namespace {

using nlohmann::json;

absl::Status Bad(std::string_view source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": ", what));
}

}  // namespace

absl::StatusOr<std::map<std::string, Prediction>> ParsePredictions(std::string_view text_in, std::string_view source) {
  absl::StatusOr<std::vector<eval_internal::JsonRecord>> items =
      eval_internal::ReadJsonRecords(text_in, source, "prediction");
  if (!items.ok()) return items.status();
  std::map<std::string, Prediction> out;
  for (auto& [j, where] : *items) {
    if (!j.is_object()) return Bad(source, absl::StrCat(where, " is not a JSON object"));
    if (!j.contains("instance_id") || !j["instance_id"].is_string()) {
      return Bad(source, absl::StrCat(where, ": \"instance_id\" must be a string"));
    }
    const std::string id = j["instance_id"].get<std::string>();
    Prediction p;
    if (j.contains("model_patch") && !j["model_patch"].is_null()) {
      if (!j["model_patch"].is_string()) {
        return Bad(source, absl::StrCat(where, " (", id, "): \"model_patch\" must be a string or null"));
      }
      p.patch = j["model_patch"].get<std::string>();
    }
    if (j.contains("model_name_or_path") && j["model_name_or_path"].is_string()) {
      p.model = j["model_name_or_path"].get<std::string>();
    }
    if (!out.emplace(id, std::move(p)).second) {
      return Bad(source, absl::StrCat(where, ": instance ", id, " is predicted twice"));
    }
  }
  return out;
}

std::string PredictionLine(const std::string& instance_id, const Prediction& prediction) {
  json line = {
      {"instance_id", instance_id}, {"model_name_or_path", prediction.model}, {"model_patch", prediction.patch}};
  return line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace swarm
