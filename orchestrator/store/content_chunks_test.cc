#include "orchestrator/store/content_chunks.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace swarm {
namespace {

std::string Random(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 96 + 32);
  return s;
}

std::string Join(const std::vector<Chunk>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c.data;
  return out;
}

TEST(ContentChunksTest, ThePiecesMakeTheInputAndStayWithinTheirSizes) {
  for (std::size_t n : {0u, 1u, 255u, 4096u, 100000u}) {
    std::string data = Random(n, static_cast<unsigned>(n));
    std::vector<Chunk> chunks = SplitIntoChunks(data);
    EXPECT_EQ(Join(chunks), data);
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      EXPECT_EQ(chunks[i].id.size(), kChunkIdBytes);
      EXPECT_LE(chunks[i].data.size(), 16u << 10);
      if (i + 1 < chunks.size()) {
        EXPECT_GE(chunks[i].data.size(), 64u);
      }
    }
  }
  std::string zeros(100000, '\0');  // no boundary ever: cut at the largest size
  EXPECT_EQ(Join(SplitIntoChunks(zeros)), zeros);
}

// What a conversation's requests look like: each repeats the one before with a turn added in the
// middle (before the tools). Almost every chunk of the longer one is already stored.
TEST(ContentChunksTest, ARequestThatRepeatsTheLastWithATurnAddedSharesItsChunks) {
  const std::string prefix = Random(20000, 1), turns = Random(30000, 2), added = Random(700, 3), tools = Random(8000, 4);
  std::set<std::string> stored;
  std::size_t stored_bytes = 0;
  auto store = [&](const std::string& request) {
    std::size_t added_bytes = 0;
    for (const Chunk& c : SplitIntoChunks(request)) {
      if (stored.insert(c.id).second) added_bytes += c.data.size();
    }
    stored_bytes += added_bytes;
    return added_bytes;
  };
  store(prefix + turns + tools);
  std::size_t second = store(prefix + turns + added + tools);
  EXPECT_LT(second, 20000u) << "a 59 KB request that adds 700 bytes stored " << second << " new bytes";
}

// A conversation as a provider's JSON: each added message is a chunk of its own, so storing the next
// request costs about the message it added.
TEST(ContentChunksTest, EachMessageOfAConversationStartsAChunk) {
  auto request = [](int turns) {
    std::string body = R"({"messages":[{"content":"you are a helpful engineer","role":"system"})";
    for (int i = 0; i < turns; ++i) {
      body += R"(,{"content":"tool result )" + std::to_string(i) + " " + std::string(300, 'x') + R"(","role":"tool"})";
    }
    return body + R"(],"model":"m","tools":[{"name":"read_file"},{"name":"edit"}]})";
  };
  std::set<std::string> stored;
  auto add = [&](const std::string& body) {
    std::size_t bytes = 0;
    for (const Chunk& c : SplitIntoChunks(body)) {
      if (stored.insert(c.id).second) bytes += c.data.size();
    }
    return bytes;
  };
  add(request(20));
  std::size_t next = add(request(21));
  EXPECT_LT(next, 1000u) << "a 330-byte turn stored " << next << " new bytes";
}

}  // namespace
}  // namespace swarm
