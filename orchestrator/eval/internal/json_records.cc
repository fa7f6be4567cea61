#include "orchestrator/eval/internal/json_records.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace swarm::eval_internal {

using nlohmann::json;

absl::StatusOr<std::vector<JsonRecord>> ReadJsonRecords(std::string_view text_in, std::string_view source,
                                                        const std::string& item) {
  const absl::string_view text(text_in.data(), text_in.size());
  std::vector<JsonRecord> records;
  if (absl::string_view t = absl::StripLeadingAsciiWhitespace(text); !t.empty() && t[0] == '[') {
    json all = json::parse(text_in, nullptr, false);
    if (all.is_discarded()) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(source), ": not valid JSON (an array of ", item, "s, or JSON lines)"));
    }
    for (size_t i = 0; i < all.size(); ++i) records.push_back({std::move(all[i]), absl::StrCat(item, " ", i + 1)});
    return records;
  }
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    json j = json::parse(std::string_view(line.data(), line.size()), nullptr, false);
    if (j.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": line ", line_no, " is not valid JSON"));
    }
    records.push_back({std::move(j), absl::StrCat("line ", line_no)});
  }
  return records;
}

}  // namespace swarm::eval_internal
