// A request to the OpenAI-compatible endpoint a command agent's sandbox calls: anything the agent
// sends, read as the endpoint reads it, and what was read written again as the gateway would send it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "models/wire/openai_chat.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<swarm::openai::DecodedRequest> request = swarm::openai::DecodeRequest(body);
  if (request.ok()) (void)swarm::openai::EncodeRequest(request->request, {.model = request->model});
  return 0;
}
