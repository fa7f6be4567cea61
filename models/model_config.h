// Which models a run can use: providers (where to send a request, in which API, with which key
// variable, under which limits) and their models (context, output limit, prices). Built-in presets,
// then the user's file, then the project's file; see docs/models.md for the format.
#ifndef SWARM_MODELS_MODEL_CONFIG_H_
#define SWARM_MODELS_MODEL_CONFIG_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

enum class ApiStyle { kOpenAiChat, kAnthropicMessages };
const char* ApiStyleName(ApiStyle api);

// Prices in US dollars per million tokens.
struct ModelInfo {
  int context_window = 0;
  int max_output_tokens = 0;
  double input_usd = 0;        // uncached prompt tokens
  double cached_input_usd = 0; // prompt tokens read from the provider's cache
  double cache_write_usd = 0;  // prompt tokens written to the cache (Anthropic)
  double output_usd = 0;
  bool priced = false;         // false: prices unknown, so no budget can be enforced for it
};

struct ProviderConfig {
  std::string name;
  std::string base_url;  // requests go to base_url + "/chat/completions" or "/messages"
  ApiStyle api = ApiStyle::kOpenAiChat;
  std::string key_env;   // the environment variable holding the key; empty: no key (local servers)
  int concurrency = 0;         // requests in flight at once, for the whole run; 0: the run's agent count
  int max_concurrency = 0;     // the provider's published limit on requests in flight; 0: none known
  int tokens_per_minute = 0;   // 0: no limit
  bool stream = true;
  std::string ca_file;         // empty: the system's CA store
  int timeout_s = 600;         // the longest wait for the reply's next bytes (connecting: at most 10 s)
  int request_timeout_s = 1800;  // the longest one HTTP attempt may take, however it streams
  int max_retries = 6;
  int retry_base_ms = 1000;    // backoff before retry n: random in [base * 2^n / 2, base * 2^n], at most 60 s
  std::string max_tokens_field = "max_tokens";  // OpenAI's newer models want max_completion_tokens
  bool reasoning_in_history = false;  // send earlier turns' reasoning_content back (Kimi's thinking models want it)
  bool conversation_header = false;  // send x-swarm-conversation (the subtask id): the scripted server keys replies on it
  bool any_model = false;      // local servers: any model name, at the defaults below
  ModelInfo defaults;          // for a model not listed (any_model)
  std::map<std::string, ModelInfo> models;
  std::string origin;          // where it was last set: "built-in" or a file
};

struct ModelsConfig {
  std::map<std::string, ProviderConfig> providers;
  double per_subtask_usd = 0;  // 0: no per-subtask cap
  std::vector<std::string> files;  // the files read, in order
};

// The built-in presets alone.
ModelsConfig BuiltinModels();

// Presets, then the user file ($XDG_CONFIG_HOME/swarm/models.toml, else ~/.config/swarm/models.toml),
// then the project file (<repo>/.swarm/models.toml). Missing files are skipped; a file that does not
// parse, an unknown key or a wrong type is an InvalidArgument naming the file, line and key.
// A project file may not touch a provider that sends a key (where the key goes, its prices, its
// limits): a repository must not be able to send the user's key elsewhere or switch off a budget.
absl::StatusOr<ModelsConfig> LoadModelsConfig(const std::string& repo_root);
// Applies one file's text over `config`.
absl::Status MergeModelsToml(const std::string& text, const std::string& origin, bool project_file,
                             ModelsConfig& config);

// A model picked for a run, ready for the gateway.
struct ResolvedModel {
  std::string ref;  // PROVIDER:MODEL
  std::string model;
  ProviderConfig provider;
  ModelInfo info;
  std::string api_key;  // empty when the provider takes none
};

// The requests in flight a run of `agents` agents allows: the provider's `concurrency` when set,
// else one per agent up to the provider's published `max_concurrency`.
int EffectiveConcurrency(const ProviderConfig& provider, int agents);

using GetEnv = std::function<const char*(const char*)>;

// Resolves "PROVIDER:MODEL" (with an optional base URL override). Errors (InvalidArgument): no colon,
// an unknown provider or model (listing the known ones), a base URL that does not parse, a key
// variable that is not set (naming it), a ca_file that cannot be read.
absl::StatusOr<ResolvedModel> ResolveModel(const ModelsConfig& config, const std::string& ref,
                                           const std::string& base_url_override, const GetEnv& getenv);

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // without a trailing slash; may be empty
};
absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url);

}  // namespace swarm

#endif  // SWARM_MODELS_MODEL_CONFIG_H_
