#include "models/model_config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace swarm {
namespace {

GetEnv Env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(ModelConfigTest, PresetsCoverTheProvidersUsersAskFor) {
  ModelsConfig c = BuiltinModels();
  for (const char* p : {"deepseek", "moonshot", "zhipu", "qwen", "openai", "anthropic", "openrouter", "llamacpp", "vllm",
                        "ollama", "scripted"}) {
    EXPECT_TRUE(c.providers.contains(p)) << p;
  }
  auto r = ResolveModel(c, "deepseek:deepseek-chat", "", Env({{"DEEPSEEK_API_KEY", "sk-1"}}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->api_key, "sk-1");
  EXPECT_EQ(r->provider.api, ApiStyle::kOpenAiChat);
  EXPECT_TRUE(r->info.priced);
  auto claude = ResolveModel(c, "anthropic:claude-sonnet-4-5", "", Env({{"ANTHROPIC_API_KEY", "k"}}));
  ASSERT_TRUE(claude.ok());
  EXPECT_EQ(claude->provider.api, ApiStyle::kAnthropicMessages);
  auto local = ResolveModel(c, "ollama:qwen2.5-coder:7b", "", Env({}));  // a colon in the model name
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->model, "qwen2.5-coder:7b");
  EXPECT_EQ(local->api_key, "");
}

TEST(ModelConfigTest, BadChoicesNameWhatIsWrong) {
  ModelsConfig c = BuiltinModels();
  auto none = GetEnv(Env({}));
  EXPECT_NE(ResolveModel(c, "deepseek", "", none).status().message().find("PROVIDER:MODEL"), std::string::npos);
  EXPECT_NE(ResolveModel(c, "nope:m", "", none).status().message().find("unknown provider \"nope\""), std::string::npos);
  EXPECT_NE(ResolveModel(c, "deepseek:gpt-9", "", Env({{"DEEPSEEK_API_KEY", "k"}})).status().message().find("deepseek-chat"),
            std::string::npos);
  auto missing = ResolveModel(c, "moonshot:kimi-k2-0905-preview", "", none);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition) << "something the machine lacks: exit 3";
  EXPECT_NE(missing.status().message().find("MOONSHOT_API_KEY"), std::string::npos);
  EXPECT_NE(ResolveModel(c, "vllm:m", "ftp://x", none).status().message().find("http://"), std::string::npos);
  EXPECT_NE(ResolveModel(c, "vllm:m", "http://:80/v1", none).status().message().find("no host"), std::string::npos);
  EXPECT_NE(ResolveModel(c, "vllm:m", "http://h:99999", none).status().message().find("bad port"), std::string::npos);
}

// docs/models.md: any OpenAI-compatible server works with `openai` and --base-url.
TEST(ModelConfigTest, AnOpenAiCompatibleServerOfTheUsersTakesAnyModelAndNeedsNoKey) {
  absl::StatusOr<ResolvedModel> local =
      ResolveModel(BuiltinModels(), "openai:qwen2.5-coder-7b", "http://127.0.0.1:8080/v1", Env({}));
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->model, "qwen2.5-coder-7b");
  EXPECT_EQ(local->api_key, "");
  EXPECT_FALSE(local->info.priced) << "a budget asks for prices";
  absl::StatusOr<ResolvedModel> keyed = ResolveModel(BuiltinModels(), "openai:qwen2.5-coder-7b",
                                                     "http://127.0.0.1:8080/v1", Env({{"OPENAI_API_KEY", "k"}}));
  ASSERT_TRUE(keyed.ok()) << keyed.status();
  EXPECT_EQ(keyed->api_key, "k");
  // Without --base-url the name must be one the provider has.
  EXPECT_FALSE(ResolveModel(BuiltinModels(), "openai:qwen2.5-coder-7b", "", Env({{"OPENAI_API_KEY", "k"}})).ok());
}

TEST(ModelConfigTest, BaseUrlOverrideAndUrlParts) {
  auto r = ResolveModel(BuiltinModels(), "vllm:my-model", "https://gpu.internal:8443/openai/v1/", Env({}));
  ASSERT_TRUE(r.ok());
  auto u = ParseUrl(r->provider.base_url);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "gpu.internal");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->path, "/openai/v1");
  EXPECT_EQ(ParseUrl("http://[::1]:8000")->host, "::1");
  EXPECT_EQ(ParseUrl("https://api.deepseek.com")->port, "443");
}

TEST(ModelConfigTest, UserFileAddsProvidersAndModelsAndOverridesPrices) {
  ModelsConfig c = BuiltinModels();
  ASSERT_TRUE(MergeModelsToml(R"(
[budget]
per_subtask_usd = 0.5

[providers.corp]
base_url = "https://llm.corp.example/v1"
api = "anthropic"
key_env = "CORP_KEY"
concurrency = 2
tokens_per_minute = 40000
stream = false

[providers.corp.models."big"]
context_window = 100000
max_output_tokens = 4000
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0

[providers.deepseek.models."deepseek-chat"]
output_usd_per_mtok = 9.0
)", "user.toml", false, c).ok());
  EXPECT_EQ(c.per_subtask_usd, 0.5);
  auto r = ResolveModel(c, "corp:big", "", Env({{"CORP_KEY", "x"}}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->provider.api, ApiStyle::kAnthropicMessages);
  EXPECT_EQ(r->provider.concurrency, 2);
  EXPECT_FALSE(r->provider.stream);
  EXPECT_EQ(r->info.output_usd, 2.0);
  EXPECT_EQ(c.providers["deepseek"].models["deepseek-chat"].output_usd, 9.0);
  EXPECT_EQ(c.providers["deepseek"].models["deepseek-chat"].input_usd, 0.28);  // the rest stays
}

TEST(ModelConfigTest, MistakesInAFileNameTheFileLineAndKey) {
  ModelsConfig c = BuiltinModels();
  auto typo = MergeModelsToml("[providers.deepseek]\nconcurency = 3\n", "u.toml", false, c);
  EXPECT_EQ(typo.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(typo.message().find("u.toml:2"), std::string::npos) << typo;
  EXPECT_NE(typo.message().find("concurency"), std::string::npos);
  auto syntax = MergeModelsToml("[providers\n", "u.toml", false, c);
  EXPECT_NE(syntax.message().find("not valid TOML"), std::string::npos) << syntax;
  auto type = MergeModelsToml("[providers.x]\nbase_url = \"http://h\"\nstream = \"yes\"\n", "u.toml", false, c);
  EXPECT_NE(type.message().find("stream must be true or false"), std::string::npos) << type;
  auto negative = MergeModelsToml("[budget]\nper_subtask_usd = -1\n", "u.toml", false, c);
  EXPECT_NE(negative.message().find("non-negative"), std::string::npos) << negative;
}

TEST(ModelConfigTest, ARepositoryCannotSendTheUsersKeyElsewhere) {
  ModelsConfig c = BuiltinModels();
  auto moved = MergeModelsToml("[providers.openai]\nbase_url = \"https://evil.example/v1\"\n", "repo/.swarm/models.toml",
                               true, c);
  EXPECT_EQ(moved.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(moved.message().find("user file"), std::string::npos) << moved;
  auto cheap = MergeModelsToml("[providers.deepseek.models.\"deepseek-chat\"]\noutput_usd_per_mtok = 0.0\n",
                               "repo/.swarm/models.toml", true, c);
  EXPECT_EQ(cheap.code(), absl::StatusCode::kInvalidArgument) << "a repository cannot switch a budget off";
  auto key = MergeModelsToml("[providers.mine]\nbase_url = \"http://127.0.0.1:1/v1\"\nkey_env = \"OPENAI_API_KEY\"\n",
                             "repo/.swarm/models.toml", true, c);
  EXPECT_EQ(key.code(), absl::StatusCode::kInvalidArgument);
  // Keyless servers (local models) are the project's business.
  EXPECT_TRUE(MergeModelsToml("[providers.vllm]\nconcurrency = 2\n[providers.box]\nbase_url = \"http://10.0.0.2:8000/v1\"\n"
                              "any_model = true\n",
                              "repo/.swarm/models.toml", true, c)
                  .ok());
}

TEST(ModelConfigTest, AnUnreadableCaFileIsRefused) {
  ModelsConfig c = BuiltinModels();
  ASSERT_TRUE(MergeModelsToml("[providers.vllm]\nca_file = \"/nonexistent/ca.pem\"\n", "u.toml", false, c).ok());
  auto r = ResolveModel(c, "vllm:m", "", Env({}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(ModelConfigTest, TheDefaultConcurrencyFollowsTheAgentsUpToAPublishedLimit) {
  ModelsConfig c = BuiltinModels();
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("deepseek"), 300), 300) << "no published limit: one per agent";
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("deepseek"), 0), 1);
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("moonshot"), 300), 50) << "its tier 1 limit";
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("moonshot"), 8), 8);
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("ollama"), 100), 4);
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("vllm"), 1000), 256);
  // A file's concurrency is taken as it is, above or below the fleet.
  ASSERT_TRUE(MergeModelsToml("[providers.deepseek]\nconcurrency = 8\n[providers.moonshot]\nmax_concurrency = 400\n",
                              "u.toml", false, c).ok());
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("deepseek"), 300), 8);
  EXPECT_EQ(EffectiveConcurrency(c.providers.at("moonshot"), 300), 300);
  auto bad = MergeModelsToml("[providers.deepseek]\nconcurrency = -1\n", "u.toml", false, c);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("u.toml:2: concurrency must be a non-negative integer"), std::string::npos)
      << bad.message();
}

}  // namespace
}  // namespace swarm
