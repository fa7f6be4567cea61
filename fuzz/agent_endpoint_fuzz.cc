// A request to the OpenAI-compatible endpoint a command agent's sandbox calls: anything the agent
// sends.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agents/model_endpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  bool stream = false;
  absl::StatusOr<swarm::v1::ChatRequest> request = swarm::ChatRequestFromOpenAi(body, &stream);
  (void)request;
  return 0;
}
