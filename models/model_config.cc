#include "models/model_config.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/toml_errors.h"
#include "models/local_model_server.h"

namespace swarm {
namespace {

ModelInfo Priced(int context, int max_output, double input, double cached, double output, double cache_write = 0) {
  ModelInfo m;
  m.context_window = context;
  m.max_output_tokens = max_output;
  m.input_usd = input;
  m.cached_input_usd = cached;
  m.cache_write_usd = cache_write;
  m.output_usd = output;
  m.priced = true;
  return m;
}

ProviderConfig Provider(std::string name, std::string base_url, ApiStyle api, std::string key_env) {
  ProviderConfig p;
  p.name = std::move(name);
  p.base_url = std::move(base_url);
  p.api = api;
  p.key_env = std::move(key_env);
  p.origin = "built-in";
  return p;
}

ProviderConfig Local(std::string name, std::string base_url) {
  ProviderConfig p = Provider(std::move(name), std::move(base_url), ApiStyle::kOpenAiChat, "");
  p.max_concurrency = 4;  // what a local server runs at once unless it is told otherwise
  p.any_model = true;
  p.timeout_s = 1800;  // local servers are slow
  p.request_timeout_s = 7200;
  p.defaults.context_window = 32768;
  p.defaults.max_output_tokens = 4096;
  p.defaults.priced = true;  // free: every price is zero
  return p;
}

}  // namespace

int EffectiveConcurrency(const ProviderConfig& provider, int agents) {
  if (provider.concurrency > 0) return provider.concurrency;
  int n = std::max(1, agents);
  return provider.max_concurrency > 0 ? std::min(n, provider.max_concurrency) : n;
}

const char* ApiStyleName(ApiStyle api) { return api == ApiStyle::kAnthropicMessages ? "anthropic" : "openai"; }

// Prices as published by each provider in November 2025 (USD per million tokens). They change:
// a config file overrides any of them.
ModelsConfig BuiltinModels() {
  using enum ApiStyle;
  ModelsConfig c;
  auto add = [&](ProviderConfig p) { c.providers[p.name] = std::move(p); };

  ProviderConfig deepseek = Provider("deepseek", "https://api.deepseek.com/v1", kOpenAiChat, "DEEPSEEK_API_KEY");
  deepseek.models["deepseek-chat"] = Priced(131072, 8192, 0.28, 0.028, 0.42);
  deepseek.models["deepseek-reasoner"] = Priced(131072, 65536, 0.28, 0.028, 0.42);
  add(deepseek);

  ProviderConfig moonshot = Provider("moonshot", "https://api.moonshot.ai/v1", kOpenAiChat, "MOONSHOT_API_KEY");
  moonshot.models["kimi-k2-0905-preview"] = Priced(262144, 16384, 0.60, 0.15, 2.50);
  moonshot.models["kimi-k2-turbo-preview"] = Priced(262144, 16384, 1.15, 0.15, 8.00);
  moonshot.models["kimi-k2-thinking"] = Priced(262144, 32768, 0.60, 0.15, 2.50);
  moonshot.reasoning_in_history = true;  // its thinking model keeps its reasoning across tool calls
  moonshot.max_concurrency = 50;  // Moonshot's published concurrency for tier 1 accounts (higher tiers: more)
  add(moonshot);

  ProviderConfig zhipu = Provider("zhipu", "https://api.z.ai/api/paas/v4", kOpenAiChat, "ZHIPU_API_KEY");
  zhipu.models["glm-4.6"] = Priced(204800, 32768, 0.60, 0.11, 2.20);
  zhipu.models["glm-4.5-air"] = Priced(131072, 32768, 0.20, 0.03, 1.10);
  add(zhipu);

  ProviderConfig qwen = Provider("qwen", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", kOpenAiChat,
                                 "DASHSCOPE_API_KEY");
  // Qwen prices rise with the prompt's length; these are the highest tier's, so a budget holds.
  qwen.models["qwen3-coder-plus"] = Priced(1048576, 65536, 6.00, 0.60, 60.00);
  qwen.models["qwen3-max"] = Priced(262144, 32768, 3.00, 0.30, 15.00);
  qwen.models["qwen-plus"] = Priced(1000000, 32768, 1.20, 0.12, 3.60);
  add(qwen);

  ProviderConfig openai = Provider("openai", "https://api.openai.com/v1", kOpenAiChat, "OPENAI_API_KEY");
  openai.max_tokens_field = "max_completion_tokens";
  openai.models["gpt-5"] = Priced(400000, 128000, 1.25, 0.125, 10.00);
  openai.models["gpt-5-mini"] = Priced(400000, 128000, 0.25, 0.025, 2.00);
  openai.models["gpt-4.1"] = Priced(1047576, 32768, 2.00, 0.50, 8.00);
  openai.models["gpt-4.1-mini"] = Priced(1047576, 32768, 0.40, 0.10, 1.60);
  add(openai);

  ProviderConfig anthropic = Provider("anthropic", "https://api.anthropic.com/v1", kAnthropicMessages,
                                      "ANTHROPIC_API_KEY");
  anthropic.models["claude-sonnet-4-5"] = Priced(200000, 64000, 3.00, 0.30, 15.00, 3.75);
  anthropic.models["claude-haiku-4-5"] = Priced(200000, 64000, 1.00, 0.10, 5.00, 1.25);
  anthropic.models["claude-opus-4-1"] = Priced(200000, 32000, 15.00, 1.50, 75.00, 18.75);
  add(anthropic);

  ProviderConfig openrouter = Provider("openrouter", "https://openrouter.ai/api/v1", kOpenAiChat, "OPENROUTER_API_KEY");
  openrouter.models["moonshotai/kimi-k2-0905"] = Priced(262144, 16384, 0.60, 0.15, 2.50);
  openrouter.models["deepseek/deepseek-chat-v3.1"] = Priced(163840, 8192, 0.28, 0.028, 1.10);
  openrouter.models["anthropic/claude-sonnet-4.5"] = Priced(1000000, 64000, 6.00, 0.60, 22.50, 7.50);
  add(openrouter);

  add(Local("llamacpp", "http://127.0.0.1:8080/v1"));
  ProviderConfig vllm = Local("vllm", "http://127.0.0.1:8000/v1");
  vllm.max_concurrency = 256;  // vLLM batches up to max_num_seqs (256 by default) at once
  add(vllm);
  add(Local("ollama", "http://127.0.0.1:11434/v1"));

  // The scripted model server (docs/scripted-model.md): the model name is the script's path. Its
  // prices are DeepSeek's, so that costs and budgets show in the offline demo.
  for (ApiStyle api : {kOpenAiChat, kAnthropicMessages}) {
    ProviderConfig s = Provider(api == kOpenAiChat ? "scripted" : "scripted-anthropic", "", api, "");
    s.any_model = true;
    s.defaults = Priced(131072, 8192, 0.28, 0.028, 0.42, 0.35);
    s.retry_base_ms = 100;
    s.conversation_header = true;
    add(s);
  }
  return c;
}

namespace {

absl::Status Bad(const std::string& origin, const toml::node& node, const std::string& what) {
  return TomlError(origin, node, what);
}

template <typename T>
absl::Status Read(const std::string& origin, const std::string& key, const toml::node& node, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!node.is_string()) return Bad(origin, node, absl::StrCat(key, " must be a string"));
    out = *node.value<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!node.is_boolean()) return Bad(origin, node, absl::StrCat(key, " must be true or false"));
    out = *node.value<bool>();
  } else if constexpr (std::is_same_v<T, int>) {
    if (!node.is_integer() || *node.value<std::int64_t>() < 0 || *node.value<std::int64_t>() > (1LL << 31) - 1)
      return Bad(origin, node, absl::StrCat(key, " must be a non-negative integer"));
    out = static_cast<int>(*node.value<std::int64_t>());
  } else {
    if (!node.is_number() || *node.value<double>() < 0)
      return Bad(origin, node, absl::StrCat(key, " must be a non-negative number"));
    out = *node.value<double>();
  }
  return absl::OkStatus();
}

absl::Status ReadModel(const std::string& origin, const std::string& where, const toml::table& t, ModelInfo& m) {
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    absl::Status s;
    if (key == "context_window") s = Read(origin, key, v, m.context_window);
    else if (key == "max_output_tokens") s = Read(origin, key, v, m.max_output_tokens);
    else if (key == "input_usd_per_mtok") s = Read(origin, key, v, m.input_usd);
    else if (key == "cached_input_usd_per_mtok") s = Read(origin, key, v, m.cached_input_usd);
    else if (key == "cache_write_usd_per_mtok") s = Read(origin, key, v, m.cache_write_usd);
    else if (key == "output_usd_per_mtok") s = Read(origin, key, v, m.output_usd);
    else return Bad(origin, v, absl::StrCat("unknown key ", key, " in ", where));
    if (!s.ok()) return s;
    if (key.find("usd") != std::string::npos) m.priced = true;
  }
  return absl::OkStatus();
}

absl::Status ReadProvider(const std::string& origin, bool project_file, const toml::table& t, ProviderConfig& p) {
  const std::string where = absl::StrCat("[providers.", p.name, "]");
  const bool sends_key = !p.key_env.empty() || t.contains("key_env");
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (project_file && sends_key) {
      return Bad(origin, v, absl::StrCat(where, " sends a key: it can only be configured in your user file, not in "
                                         "a repository's (which must not redirect your key or change its prices)"));
    }
    absl::Status s;
    if (key == "base_url") s = Read(origin, key, v, p.base_url);
    else if (key == "key_env") s = Read(origin, key, v, p.key_env);
    else if (key == "concurrency") s = Read(origin, key, v, p.concurrency);
    else if (key == "max_concurrency") s = Read(origin, key, v, p.max_concurrency);
    else if (key == "tokens_per_minute") s = Read(origin, key, v, p.tokens_per_minute);
    else if (key == "stream") s = Read(origin, key, v, p.stream);
    else if (key == "ca_file") s = Read(origin, key, v, p.ca_file);
    else if (key == "timeout_s") s = Read(origin, key, v, p.timeout_s);
    else if (key == "request_timeout_s") s = Read(origin, key, v, p.request_timeout_s);
    else if (key == "max_retries") s = Read(origin, key, v, p.max_retries);
    else if (key == "retry_base_ms") s = Read(origin, key, v, p.retry_base_ms);
    else if (key == "max_tokens_field") s = Read(origin, key, v, p.max_tokens_field);
    else if (key == "any_model") s = Read(origin, key, v, p.any_model);
    else if (key == "conversation_header") s = Read(origin, key, v, p.conversation_header);
    else if (key == "reasoning_in_history") s = Read(origin, key, v, p.reasoning_in_history);
    else if (key == "api") {
      std::string api;
      s = Read(origin, key, v, api);
      if (s.ok() && api == "openai") p.api = ApiStyle::kOpenAiChat;
      else if (s.ok() && api == "anthropic") p.api = ApiStyle::kAnthropicMessages;
      else if (s.ok()) return Bad(origin, v, absl::StrCat("api must be \"openai\" or \"anthropic\", not \"", api, "\""));
    } else if (key == "defaults" || key == "models") {
      if (!v.is_table()) return Bad(origin, v, absl::StrCat(key, " in ", where, " must be a table"));
      if (key == "defaults") {
        s = ReadModel(origin, absl::StrCat(where, ".defaults"), *v.as_table(), p.defaults);
      } else {
        for (auto&& [name, model] : *v.as_table()) {
          const std::string model_name(name.str());
          if (!model.is_table()) return Bad(origin, model, absl::StrCat("model ", model_name, " must be a table"));
          ModelInfo& m = p.models[model_name];
          s = ReadModel(origin, absl::StrCat(where, ".models.", model_name), *model.as_table(), m);
          if (!s.ok()) return s;
        }
      }
    } else {
      return Bad(origin, v, absl::StrCat("unknown key ", key, " in ", where));
    }
    if (!s.ok()) return s;
  }
  if (p.concurrency < 0) {
    return Bad(origin, t, absl::StrCat("concurrency in ", where, " must be 0 (one per agent) or more"));
  }
  if (p.max_concurrency < 0) {
    return Bad(origin, t, absl::StrCat("max_concurrency in ", where, " must be 0 (none) or more"));
  }
  if (p.timeout_s < 1) return Bad(origin, t, absl::StrCat("timeout_s in ", where, " must be at least 1"));
  if (p.request_timeout_s < 1) return Bad(origin, t, absl::StrCat("request_timeout_s in ", where, " must be at least 1"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

absl::Status MergeModelsToml(const std::string& text, const std::string& origin, bool project_file,
                             ModelsConfig& config) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return TomlParseError(origin, e);
  }
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "budget") {
      if (!v.is_table()) return Bad(origin, v, "[budget] must be a table");
      for (auto&& [bk, bv] : *v.as_table()) {
        if (bk.str() != "per_subtask_usd") return Bad(origin, bv, absl::StrCat("unknown key ", std::string(bk.str()), " in [budget]"));
        if (absl::Status s = Read(origin, "per_subtask_usd", bv, config.per_subtask_usd); !s.ok()) return s;
      }
    } else if (key == "providers") {
      if (!v.is_table()) return Bad(origin, v, "[providers] must be a table");
      for (auto&& [name, pv] : *v.as_table()) {
        const std::string provider(name.str());
        if (!pv.is_table()) return Bad(origin, pv, absl::StrCat("[providers.", provider, "] must be a table"));
        auto [it, added] = config.providers.try_emplace(provider);
        if (added) it->second.name = provider;
        if (absl::Status s = ReadProvider(origin, project_file, *pv.as_table(), it->second); !s.ok()) return s;
        if (it->second.base_url.empty() && !provider.starts_with("scripted")) {
          return Bad(origin, pv, absl::StrCat("[providers.", provider, "] needs a base_url"));
        }
        it->second.origin = origin;
      }
    } else {
      return Bad(origin, v, absl::StrCat("unknown table or key ", key, " (expected [providers.NAME] or [budget])"));
    }
  }
  config.files.push_back(origin);
  return absl::OkStatus();
}

absl::StatusOr<ModelsConfig> LoadModelsConfig(const std::string& repo_root) {
  ModelsConfig config = BuiltinModels();
  std::string user_file;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    user_file = absl::StrCat(xdg, "/swarm/models.toml");
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    user_file = absl::StrCat(home, "/.config/swarm/models.toml");
  }
  const std::string project_file = repo_root.empty() ? "" : absl::StrCat(repo_root, "/.swarm/models.toml");
  for (const auto& [path, project] : {std::pair{user_file, false}, std::pair{project_file, true}}) {
    if (path.empty() || access(path.c_str(), F_OK) != 0) continue;
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
    if (absl::Status s = MergeModelsToml(*text, path, project, config); !s.ok()) return s;
  }
  return config;
}

absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl u;
  std::string rest;
  if (url.starts_with("https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("base URL \"", url, "\" must start with http:// or https://"));
  }
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  if (authority.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("base URL \"", url, "\": put credentials in the key variable, not the URL"));
  }
  if (u.path.find_first_of("?# ") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("base URL \"", url, "\" may not have a query, fragment or space"));
  }
  std::size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("base URL \"", url, "\": bad IPv6 host"));
    u.host = authority.substr(1, close - 1);
    colon = authority.size() > close + 1 && authority[close + 1] == ':' ? close + 1 : std::string::npos;
  } else {
    u.host = authority.substr(0, colon);
  }
  u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : authority.substr(colon + 1);
  if (u.host.empty() || u.host.find_first_of(" /\\") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("base URL \"", url, "\" has no host"));
  }
  if (u.port.empty() || u.port.size() > 5 || u.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(u.port) == 0 || std::stoi(u.port) > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("base URL \"", url, "\" has a bad port"));
  }
  return u;
}

absl::StatusOr<ResolvedModel> ResolveModel(const ModelsConfig& config, const std::string& ref,
                                           const std::string& base_url_override, const GetEnv& getenv) {
  const std::size_t colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) {
    return absl::InvalidArgumentError(absl::StrCat("--model \"", ref, "\" must be PROVIDER:MODEL, e.g. deepseek:deepseek-chat"));
  }
  ResolvedModel r;
  r.ref = ref;
  const std::string provider = ref.substr(0, colon);
  r.model = ref.substr(colon + 1);
  auto it = config.providers.find(provider);
  if (it == config.providers.end()) {
    std::vector<std::string> names;
    for (const auto& [name, p] : config.providers) names.push_back(name);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown provider \"", provider, "\" in --model ", ref, " (known: ", absl::StrJoin(names, ", "),
                     "; add one in ~/.config/swarm/models.toml)"));
  }
  r.provider = it->second;
  if (auto m = r.provider.models.find(r.model); m != r.provider.models.end()) {
    r.info = m->second;
  } else if (r.provider.any_model || !base_url_override.empty()) {
    // An endpoint of the user's own (--base-url) serves whatever models it has: any name goes, with the
    // provider's defaults and no prices (a budget then asks for them).
    r.info = r.provider.defaults;
  } else {
    std::vector<std::string> names;
    for (const auto& [name, m] : r.provider.models) names.push_back(name);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown model \"", r.model, "\" for provider ", provider, " (configured: ",
                     absl::StrJoin(names, ", "), "; add it under [providers.", provider, ".models] in a models.toml)"));
  }
  if (r.info.max_output_tokens <= 0) r.info.max_output_tokens = 4096;
  if (!base_url_override.empty()) r.provider.base_url = base_url_override;
  if (provider.starts_with("scripted") && r.provider.base_url.empty()) {
    char* real = realpath(r.model.c_str(), nullptr);
    if (real == nullptr || access(real, R_OK) != 0) {
      free(real);
      return absl::InvalidArgumentError(absl::StrCat("cannot read the model script ", r.model, " (--model ", ref, ")"));
    }
    r.model = real;  // absolute: a resumed or served run reads it from elsewhere
    r.ref = absl::StrCat(provider, ":", r.model);
    free(real);
    absl::StatusOr<std::string> text = ReadWholeFile(r.model);
    if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
    absl::StatusOr<const LocalModelServerKind*> kind = InstalledLocalModelServer();
    if (!kind.ok()) return kind.status();
    if (absl::Status parsed = (*kind)->check(*text); !parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("the model script ", r.model, ": ", parsed.message()));
    }
  } else if (absl::StatusOr<ParsedUrl> url = ParseUrl(r.provider.base_url); !url.ok()) {
    return url.status();
  }
  if (!r.provider.key_env.empty()) {
    const char* key = getenv(r.provider.key_env.c_str());
    const bool missing = key == nullptr || *key == '\0';
    // A server of the user's own (--base-url) often wants no key: it is sent when there is one.
    if (missing && base_url_override.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("the key for ", provider, " is missing: set ",
                                                        r.provider.key_env, " in the environment"));
    }
    if (!missing) r.api_key = key;
  }
  if (!r.provider.ca_file.empty()) {
    // Loaded as the client will load it, so that a bad file is found before the run starts.
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    const bool loaded = ctx != nullptr && SSL_CTX_load_verify_locations(ctx, r.provider.ca_file.c_str(), nullptr) == 1;
    SSL_CTX_free(ctx);
    if (!loaded) {
      return absl::InvalidArgumentError(absl::StrCat("ca_file ", r.provider.ca_file, " of provider ", provider,
                                                     " cannot be read or holds no PEM certificate"));
    }
  }
  return r;
}

}  // namespace swarm
