#include "orchestrator/eval/predictions.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace swarm {
namespace {

TEST(PredictionsTest, RoundTripsSweBenchsShapeWithNullPatches) {
  std::string text = PredictionLine("a__b-1", {"my-model", "diff --git a/x b/x\n"}) +
                     R"({"instance_id": "a__b-2", "model_name_or_path": "my-model", "model_patch": null})" + "\n";
  absl::StatusOr<std::map<std::string, Prediction>> p = ParsePredictions(text, "preds.jsonl");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at("a__b-1").patch, "diff --git a/x b/x\n");
  EXPECT_EQ(p->at("a__b-1").model, "my-model");
  EXPECT_EQ(p->at("a__b-2").patch, "");
  nlohmann::json line = nlohmann::json::parse(PredictionLine("i", {"m", "p"}));
  EXPECT_EQ(line, (nlohmann::json{{"instance_id", "i"}, {"model_name_or_path", "m"}, {"model_patch", "p"}}));
}

TEST(PredictionsTest, BadInputNamesTheLine) {
  for (const std::string& bad : {std::string("{\"model_patch\": \"x\"}"), std::string("[1]"),
                                 std::string("{\"instance_id\": \"i\", \"model_patch\": 3}"),
                                 std::string("{\"instance_id\": \"i\"}\n{\"instance_id\": \"i\"}"), std::string("{")}) {
    absl::StatusOr<std::map<std::string, Prediction>> p = ParsePredictions(bad, "preds.jsonl");
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("preds.jsonl: "), std::string::npos) << p.status();
  }
}

}  // namespace
}  // namespace swarm
