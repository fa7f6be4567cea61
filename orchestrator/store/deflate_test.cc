#include "orchestrator/store/deflate.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(DeflateTest, RoundTripsAndRefusesWhatItDidNotMake) {
  std::string sse;
  for (int i = 0; i < 200; ++i) sse += "data: {\"choices\":[{\"delta\":{\"content\":\"tok" + std::to_string(i) + "\"}}]}\n\n";
  std::string packed = Deflate(sse);
  EXPECT_LT(packed.size() * 5, sse.size());
  absl::StatusOr<std::string> back = Inflate(packed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, sse);
  EXPECT_EQ(*Inflate(Deflate("")), "");
  EXPECT_EQ(Inflate("not deflated").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Inflate(packed, 100).status().code(), absl::StatusCode::kDataLoss) << "past its cap";
}

}  // namespace
}  // namespace swarm
