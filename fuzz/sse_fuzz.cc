// A provider's event stream, in pieces of any size (the first byte sets the piece size).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "models/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::size_t events = 0;
  swarm::SseParser parser([&](std::string_view event, std::string_view payload) {
    events += 1 + (event.size() + payload.size() > 0);
  });
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (std::size_t at = 0; at < bytes.size(); at += piece) parser.Feed(bytes.substr(at, piece));
  parser.Finish();
  return 0;
}
