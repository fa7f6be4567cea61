#include "models/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace swarm {
namespace {

std::vector<std::pair<std::string, std::string>> Parse(const std::vector<std::string>& pieces) {
  std::vector<std::pair<std::string, std::string>> events;
  SseParser parser([&](std::string_view e, std::string_view d) { events.emplace_back(e, d); });
  for (const auto& p : pieces) parser.Feed(p);
  return events;
}

TEST(SseTest, EventsSplitAnywhereAreJoined) {
  const std::string stream = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: a comment\n\ndata: x\ndata: y\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    auto events = Parse({stream.substr(0, cut), stream.substr(cut)});
    ASSERT_EQ(events.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(events[0].first, "message_start");
    EXPECT_EQ(events[0].second, "{\"a\":1}");
    EXPECT_EQ(events[1].first, "message");
    EXPECT_EQ(events[1].second, "x\ny");
  }
}

TEST(SseTest, AnEventWithoutItsBlankLineIsNotDelivered) {
  EXPECT_TRUE(Parse({"data: {\"partial\": tr"}).empty());
  EXPECT_TRUE(Parse({"data: [DONE]\n"}).empty());
}

}  // namespace
}  // namespace swarm
