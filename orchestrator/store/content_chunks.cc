#include "orchestrator/store/content_chunks.h"

#include <openssl/sha.h>

#include <array>
#include <cstdint>

namespace swarm {
namespace {

constexpr std::size_t kMinChunk = 256;
constexpr std::size_t kMinStructuralChunk = 64;
static_assert(kMinStructuralChunk >= 2, "the structural check reads the two bytes before");
constexpr std::size_t kMaxChunk = 16 << 10;
constexpr std::uint64_t kBoundaryMask = (1u << 11) - 1;  // about 2 KiB between cuts past the minimum

// The gear table of FastCDC: one pseudo-random 64-bit value per byte, fixed so that chunk boundaries
// (and so what is shared) do not change between versions.
const std::array<std::uint64_t, 256>& Gear() {
  static const std::array<std::uint64_t, 256> table = [] {
    std::array<std::uint64_t, 256> t{};
    std::uint64_t x = 0x9E3779B97F4A7C15ull;  // splitmix64
    for (auto& v : t) {
      x += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      v = z ^ (z >> 31);
    }
    return t;
  }();
  return table;
}

std::string ChunkId(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kChunkIdBytes);
}

}  // namespace

std::vector<Chunk> SplitIntoChunks(std::string_view data) {
  const auto& gear = Gear();
  std::vector<Chunk> out;
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = std::min(data.size(), start + kMaxChunk);
    std::uint64_t hash = 0;
    for (std::size_t i = start; i < end; ++i) {
      // Between two objects of a JSON array ("},{"), and after an array of them ("}]"): each message
      // of a conversation starts a chunk of its own and the last ends one, so a request that adds a
      // turn adds about that turn's bytes.
      // Only past kMinStructuralChunk (at least 2) bytes: the two before `i` are then in `data`.
      const bool structural = i - start >= kMinStructuralChunk;
      const bool between = structural && data[i] == '{' && data[i - 1] == ',' && data[i - 2] == '}';
      const bool after = structural && data[i - 1] == ']' && data[i - 2] == '}';
      if (between || after) {
        end = i;
        break;
      }
      hash = (hash << 1) + gear[static_cast<unsigned char>(data[i])];
      if (i + 1 - start >= kMinChunk && (hash & kBoundaryMask) == 0) {
        end = i + 1;
        break;
      }
    }
    std::string_view piece = data.substr(start, end - start);
    out.push_back({ChunkId(piece), piece});
    start = end;
  }
  return out;
}

}  // namespace swarm
