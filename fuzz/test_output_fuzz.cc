// A test command's output in each per-test format, and a JUnit XML report: a patched test controls
// both. The first byte picks the format.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "test_results/test_results.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr swarm::TestFormat kFormats[] = {swarm::TestFormat::kGtest, swarm::TestFormat::kCtest,
                                                   swarm::TestFormat::kPytest, swarm::TestFormat::kUnittest,
                                                   swarm::TestFormat::kTap};
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t pick = data[0] % (std::size(kFormats) + 1);
  swarm::TestResults results =
      pick < std::size(kFormats) ? swarm::ParseTestOutput(kFormats[pick], text) : swarm::ParseJunitReport(text);
  (void)results.Failing();
  return 0;
}
