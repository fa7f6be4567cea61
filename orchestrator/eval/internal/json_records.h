// What SWE-bench's files hold: JSON lines, or one JSON array, of objects. Shared by the instances and
// the predictions readers.
#ifndef SWARM_ORCHESTRATOR_EVAL_INTERNAL_JSON_RECORDS_H_
#define SWARM_ORCHESTRATOR_EVAL_INTERNAL_JSON_RECORDS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm::eval_internal {

struct JsonRecord {
  nlohmann::json value;  // not checked: any JSON value
  std::string where;     // "line 3", or "<item> 3" in an array
};

// The records of `text` (read from `source`, which errors name): an array's items ("<item> N"), or the
// non-blank lines ("line N"). InvalidArgument when it is not valid JSON ("an array of <item>s, or JSON
// lines") or a line is not.
absl::StatusOr<std::vector<JsonRecord>> ReadJsonRecords(std::string_view text, std::string_view source,
                                                        const std::string& item);

}  // namespace swarm::eval_internal

#endif  // SWARM_ORCHESTRATOR_EVAL_INTERNAL_JSON_RECORDS_H_
