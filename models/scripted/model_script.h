// A model script: the replies the scripted model server gives, keyed by conversation (the request's
// x-swarm-conversation header), so that concurrent callers each get a deterministic sequence.
// The format is described in docs/scripted-model.md.
#ifndef SWARM_MODELS_SCRIPTED_MODEL_SCRIPT_H_
#define SWARM_MODELS_SCRIPTED_MODEL_SCRIPT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

// What goes wrong with a call instead of (or while) answering it.
enum class ScriptFault {
  kNone,
  kRateLimit,          // 429 with Retry-After and a provider error body
  kServerError,        // 500 with a provider error body
  kStall,              // read the request, then never answer
  kTruncate,           // start the answer, then close the connection
  kMalformedToolArgs,  // tool call arguments that are not valid JSON
  kNotJson,            // 200, Content-Type application/json, an HTML body
};

struct ScriptedToolCall {
  std::string id;         // empty: the server makes one up
  std::string name;
  std::string arguments;  // a JSON object, as compact text
};

// Token counts a step reports; absent ones are derived (see ResolveUsage in scripted_wire.h).
struct ScriptedUsage {
  std::optional<int64_t> input;  // every prompt token, cached ones included
  std::optional<int64_t> cached;
  std::optional<int64_t> cache_write;
  std::optional<int64_t> output;
};

// One answer: what a single call of a conversation gets.
struct ScriptStep {
  std::string expect;  // non-empty: the request body must contain it
  int delay_ms = 0;
  std::string content;
  std::string reasoning;
  std::vector<ScriptedToolCall> tool_calls;
  std::string finish_reason;  // OpenAI's words (stop, tool_calls, length); empty: derived
  ScriptedUsage usage;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  ScriptFault fault = ScriptFault::kNone;
  std::optional<int> retry_after_s;   // rate_limit: Retry-After
  std::optional<int> retry_after_ms;  // rate_limit: retry-after-ms (OpenAI's header)
};

// A parsed, validated script and how far each conversation has got through it. Not thread-safe:
// the server guards it with its own lock.
class ModelScript final {
 public:
  // Errors name the conversation and the step (counted from 1) that is wrong.
  static absl::StatusOr<ModelScript> Parse(const std::string& json_text);

  // Empty: no authentication required.
  const std::string& api_key() const { return api_key_; }

  // Counts one more call of `conversation` (its number, from 1, goes to *call_number) and returns
  // the step that answers it: the conversation's next step, else the default step, else nullptr
  // (the script has no answer). The step lives as long as this script.
  const ScriptStep* Take(const std::string& conversation, int* call_number);

 private:
  std::string api_key_;
  std::map<std::string, std::vector<ScriptStep>> conversations_;
  std::optional<ScriptStep> default_step_;
  std::map<std::string, int> calls_;  // calls made so far, by conversation
};

}  // namespace swarm

#endif  // SWARM_MODELS_SCRIPTED_MODEL_SCRIPT_H_
